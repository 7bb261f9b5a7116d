// path_config_source: a DiscoveryResponse in a file (YAML, JSON or binary .pb), read at start and
// again whenever the file is replaced — Envoy reacts to a file moved into place (atomic
// `mv new lds.yaml`), or with watched_directory to any move in that directory (Kubernetes
// ConfigMap symlink swaps). The content is state of the world, as in SotW gRPC.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { Obj } from '../config/translate/context.ts';
import { isPlainObject } from '../config/wkt.ts';
import type { Interest, XdsMux, XdsSink } from './mux.ts';
import { ENDPOINT, TYPES } from './resource_types.ts';
import { decodeResponse, type RawResource } from './wire.ts';

const DEBOUNCE_MS = 25;

export class FileSource implements XdsMux {
  readonly source: string;
  private readonly file: string;
  private readonly watchDir: string;
  private readonly anyFileInDir: boolean;
  private readonly sink: XdsSink;
  private readonly log: { warn(o: object, m: string): void; info(o: object, m: string): void };
  private readonly types = new Set<string>();
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastText: string | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(opts: { source: string; path: string; watchedDirectory: string | null; sink: XdsSink; log: FileSource['log'] }) {
    this.source = opts.source;
    this.file = resolve(opts.path);
    this.watchDir = opts.watchedDirectory !== null ? resolve(opts.watchedDirectory) : dirname(this.file);
    this.anyFileInDir = opts.watchedDirectory !== null;
    this.sink = opts.sink;
    this.log = opts.log;
  }

  start(): void {
    try {
      this.watcher = watch(this.watchDir, (_event, name) => {
        if (this.anyFileInDir || name === null || name === basename(this.file)) this.schedule();
      });
      this.watcher.unref();
      this.watcher.on('error', (e) => this.log.warn({ dir: this.watchDir, err: String(e) }, 'cannot watch config directory'));
    } catch (e) {
      this.log.warn({ dir: this.watchDir, err: String(e) }, 'cannot watch config directory; the file is read once');
    }
  }

  stop(): void {
    this.watcher?.close();
    if (this.timer !== null) clearTimeout(this.timer);
  }

  setInterest(typeUrl: string, interest: Interest): void {
    const wanted = interest === '*' || interest.size > 0;
    if (!wanted || this.types.has(typeUrl)) return;
    this.types.add(typeUrl);
    this.lastText = null;
    this.enqueue();
  }

  private schedule(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.enqueue();
    }, DEBOUNCE_MS);
  }

  private enqueue(): void {
    this.queue = this.queue.then(() => this.load());
  }

  private async load(): Promise<void> {
    if (this.types.size === 0) return;
    let raw: Buffer;
    try {
      raw = readFileSync(this.file);
    } catch (e) {
      this.sink.onFailure(this.source, [...this.types], `cannot read ${this.file}: ${(e as Error).message}`);
      return;
    }
    const text = raw.toString('latin1');
    if (text === this.lastText) return; // a touch or a rename of something else: nothing new
    this.lastText = text;
    let parsed: { version: string; typeUrl: string; resources: RawResource[] };
    try {
      parsed = this.file.endsWith('.pb') ? fromBinary(raw) : fromText(raw.toString('utf8'));
    } catch (e) {
      this.sink.onFailure(this.source, [...this.types], `${this.file}: ${(e as Error).message}`);
      return;
    }
    // Envoy takes the type from the resources; a file holds one type.
    const typeUrl = parsed.typeUrl || [...this.types][0];
    if (!this.types.has(typeUrl)) {
      this.sink.onFailure(this.source, [...this.types], `${this.file}: holds ${typeUrl || 'no resources'}, expected ${[...this.types].join(' or ')}`);
      return;
    }
    const error = await this.sink.onUpdate({
      typeUrl,
      source: this.source,
      delta: false,
      version: parsed.version,
      resources: parsed.resources,
      removed: [],
      complete: TYPES[typeUrl]?.sotwComplete ?? false,
    });
    if (error !== null) this.log.warn({ file: this.file, version: parsed.version }, `config file rejected: ${error}`);
    else this.log.info({ file: this.file, version: parsed.version }, 'config file applied');
  }
}

function fromBinary(raw: Buffer): { version: string; typeUrl: string; resources: RawResource[] } {
  const r = decodeResponse(raw);
  return { version: r.version_info, typeUrl: r.resources[0]?.typeUrl ?? r.type_url, resources: r.resources };
}

function fromText(text: string): { version: string; typeUrl: string; resources: RawResource[] } {
  const doc: unknown = parseYaml(text);
  if (!isPlainObject(doc)) throw new Error('expected a DiscoveryResponse object');
  const version = String(doc.version_info ?? doc.versionInfo ?? '');
  const list = doc.resources;
  if (list !== undefined && !Array.isArray(list)) throw new Error('resources: expected a list');
  let typeUrl = '';
  const resources = ((list ?? []) as unknown[]).map((r, i): RawResource => {
    if (!isPlainObject(r)) throw new Error(`resources[${i}]: expected an object`);
    const { '@type': url, ...json } = r as Obj;
    if (typeof url !== 'string') throw new Error(`resources[${i}]: missing "@type"`);
    if (typeUrl === '') typeUrl = url;
    else if (url !== typeUrl) throw new Error(`resources[${i}]: ${url} differs from ${typeUrl}`);
    const name = url === ENDPOINT ? (json.cluster_name ?? json.clusterName) : json.name;
    return { typeUrl: url, name: typeof name === 'string' ? name : '', version, bytes: new Uint8Array(0), ttlMs: null, json };
  });
  return { version, typeUrl, resources };
}
