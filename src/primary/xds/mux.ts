// What every xDS transport (SotW or delta gRPC stream, ADS or per type, or a watched file)
// hands the resource store, and what the store asks of it.
import type { RawResource } from './wire.ts';

/** '*' is a wildcard subscription (LDS, CDS); otherwise the resource names wanted. */
export type Interest = '*' | ReadonlySet<string>;

export interface XdsUpdate {
  typeUrl: string;
  /** Key of the config source the update came from (see sourceKey()). */
  source: string;
  delta: boolean;
  /** SotW version_info, or the delta response's system_version_info. */
  version: string;
  /** Resources with bytes === null are TTL heartbeats: keep the current version, renew its TTL. */
  resources: RawResource[];
  /** Delta removed_resources. */
  removed: string[];
  /** SotW LDS/CDS (and files): resources not listed are removed. */
  complete: boolean;
}

export interface XdsSink {
  /** Applies what it can of one response; null to ACK, or the NACK's error_detail message. */
  onUpdate(u: XdsUpdate): Promise<string | null>;
  /** The transport could not deliver (stream broke, file unreadable). */
  onFailure(source: string, typeUrls: string[], reason: string): void;
  onConnection(source: string, connected: boolean): void;
}

export interface XdsMux {
  readonly source: string;
  setInterest(typeUrl: string, interest: Interest): void;
  start(): void;
  stop(): void;
}

export function sameInterest(a: Interest | undefined, b: Interest): boolean {
  if (a === undefined) return false;
  if (a === '*' || b === '*') return a === b;
  if (a.size !== b.size) return false;
  for (const n of a) if (!b.has(n)) return false;
  return true;
}
