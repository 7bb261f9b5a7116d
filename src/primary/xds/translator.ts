// The primary's side of xDS translation: batches changed resources for the translator threads
// (large pushes are split across two threads) and copies each result out of the shared arena.
import { Piscina } from 'piscina';
import type { XdsRefs } from '../config/translate/config_source.ts';
import type { Obj } from '../config/translate/context.ts';
import type { XdsTranslateArgs, XdsTranslateOutput, TranslatedItem } from './translate_task.ts';

/** Smaller pushes are not worth a second thread (its first task pays for loading the protos). */
const SPLIT_AT = 2000;

export interface TranslatedResource {
  name: string;
  errors: string[];
  warnings: string[];
  unsupported: string[];
  unknownFields: number;
  body: Uint8Array;
  count: number;
  hash: string;
  refs: XdsRefs;
  inline: { name: string; body: Uint8Array; count: number; hash: string }[];
  address: string;
  /** A cluster with active health checks or outlier detection. */
  health: boolean;
  /** A cluster's stat name, when not its name. */
  statName: string | null;
}

export interface ResourceInput {
  bytes: Uint8Array;
  json?: Obj;
}

/**
 * Made-up resources each thread translates when the session starts (1,500 of each kind, about
 * 0.15 s of CPU per thread), in chunks: V8 compiles the translators while nothing waits for them
 * (medians of 8, first push of 10,000 clusters: proxy CPU 1195 ms after 300, 1005 ms after 1,500).
 * A real translation waits for at most one chunk.
 */
const WARMUP_CHUNK = 300;
const WARMUP_CHUNKS = 5;

export class XdsTranslator {
  private readonly pool: Piscina<XdsTranslateArgs | { warmup: number }, XdsTranslateOutput>;
  private readonly strict: boolean;
  /** Real translations in flight (warm-up chunks wait for none to be). */
  private busy = 0;
  private idle: (() => void)[] = [];
  private closed = false;

  constructor(strict: boolean) {
    this.strict = strict;
    this.pool = new Piscina({
      filename: new URL('./translate_task.ts', import.meta.url).href,
      // Both threads exist from the start and stay: a cold one spends ~150 ms loading the protos
      // and runs the translators at half speed until V8 has optimized them.
      minThreads: 2,
      maxThreads: 2,
      idleTimeout: 5 * 60_000,
    });
  }

  /** Warms both threads in the background (see warmup() in translate_task.ts). */
  warm(): void {
    for (let i = 0; i < 2; i++) void this.warmLoop();
  }

  private async warmLoop(): Promise<void> {
    for (let n = 0; n < WARMUP_CHUNKS && !this.closed; n++) {
      while (this.busy > 0) await new Promise<void>((r) => this.idle.push(r));
      try {
        await this.pool.run({ warmup: WARMUP_CHUNK });
      } catch {
        return;
      }
    }
  }

  async translate(typeUrl: string, inputs: ResourceInput[]): Promise<TranslatedResource[]> {
    if (inputs.length === 0) return [];
    const chunks = inputs.length >= SPLIT_AT ? [inputs.slice(0, inputs.length >> 1), inputs.slice(inputs.length >> 1)] : [inputs];
    this.busy++;
    try {
      const outs = await Promise.all(chunks.map((c) => {
        const args = this.args(typeUrl, c);
        return this.pool.run(args, { transferList: [args.arena.buffer, args.ends.buffer] as never });
      }));
      return outs.flatMap((o) => o.items.map((it, i) => fromItem(o, it, i)));
    } finally {
      if (--this.busy === 0) {
        const w = this.idle;
        this.idle = [];
        for (const fn of w) fn();
      }
    }
  }

  close(): Promise<void> {
    this.closed = true;
    const w = this.idle;
    this.idle = [];
    for (const fn of w) fn();
    return this.pool.destroy();
  }

  /** The resources back to back in buffers of their own, moved (not copied) to the thread. */
  private args(typeUrl: string, inputs: ResourceInput[]): XdsTranslateArgs {
    let size = 0;
    for (const i of inputs) size += i.bytes.length;
    const arena = new Uint8Array(size);
    const ends = new Uint32Array(inputs.length);
    let at = 0;
    let json: Obj[] | undefined;
    inputs.forEach((r, i) => {
      arena.set(r.bytes, at);
      ends[i] = at += r.bytes.length;
      if (r.json !== undefined) (json ??= [])[i] = r.json;
    });
    return json === undefined ? { typeUrl, strict: this.strict, arena, ends } : { typeUrl, strict: this.strict, arena, ends, json };
  }
}

const NONE: string[] = [];
const NO_REFS: XdsRefs = { rds: [], eds: [], sds: [] };

/**
 * A resource's translation. Bodies are views into the arena the thread moved over (not copies):
 * an arena lives as long as one of its resources is in use, at most about the size of one push.
 */
function fromItem(o: XdsTranslateOutput, it: TranslatedItem, i: number): TranslatedResource {
  const arena = o.arena;
  const slice = (s: [number, number]) => arena.subarray(s[0], s[0] + s[1]);
  const r = it.refs;
  return {
    name: it.name,
    errors: it.errors ?? NONE,
    warnings: it.warnings ?? NONE,
    unsupported: it.unsupported ?? NONE,
    unknownFields: it.unknownFields ?? 0,
    body: arena.subarray(o.spans[2 * i], o.spans[2 * i] + o.spans[2 * i + 1]),
    count: it.count,
    hash: it.hash,
    refs: r === undefined ? NO_REFS : { rds: r.rds ?? [], eds: r.eds ?? [], sds: r.sds ?? [] },
    inline: (it.inline ?? []).map((x) => ({ name: x.name, body: slice(x.body), count: x.count, hash: x.hash })),
    address: it.address ?? '',
    health: it.health === true,
    statName: it.statName ?? null,
  };
}
