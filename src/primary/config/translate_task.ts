// Piscina task: bootstrap → packed Snapshot, off the primary's event loop (proto decoding and
// translation of a large config can take long enough to delay admin requests and IPC).
import { pack } from 'msgpackr';
import type { ConfigIssue } from '../../shared/errors.ts';
import { buildSnapshot } from './build.ts';
import type { AdminAddress, XdsBootstrap } from './translate/bootstrap.ts';

export interface TranslateArgs {
  bootstrap: object;
  strict: boolean;
  version: number;
  drainTimeMs: number;
}

export interface TranslateOutput {
  /** msgpackr `pack` of the Snapshot; meaningless when `issues` has errors. */
  snapshotBytes: Uint8Array;
  issues: ConfigIssue[];
  unsupported: string[];
  admin: AdminAddress | null;
  /** The normalized bootstrap, for /config_dump. */
  bootstrapDump: object;
  /** dynamic_resources and xDS references; null when nothing comes over xDS. */
  xds: XdsBootstrap | null;
}

export default function translateTask(args: TranslateArgs): TranslateOutput {
  const r = buildSnapshot(args.bootstrap, { version: args.version, drainTimeMs: args.drainTimeMs, strict: args.strict });
  // Copy out of msgpackr's reusable buffer so the bytes stay valid after the next pack().
  const snapshotBytes = new Uint8Array(pack(r.snapshot));
  return { snapshotBytes, issues: r.issues, unsupported: r.unsupported, admin: r.admin, bootstrapDump: r.bootstrapDump, xds: r.xds };
}
