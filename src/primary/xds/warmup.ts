// Runs a small made-up push through the primary's own side of the pipeline once, when an xDS
// session starts: wire decoding, the store (staging, warming, references, stats) and the
// composer. V8 then has compiled that code before the first real push instead of during it (a
// cold first push of 10,000 clusters spent about a third of its CPU compiling). The translator
// threads warm themselves the same way (see warmup() in translate_task.ts). Nothing here is
// kept or seen by anyone: its own store, composer and a silent logger.
import type { Logger } from '../../shared/logger.ts';
import type { Snapshot } from '../../shared/snapshot.ts';
import { lookupType } from '../config/protos.ts';
import { SnapshotComposer } from './composer.ts';
import { CLUSTER, ENDPOINT } from './resource_types.ts';
import { XdsStore } from './store.ts';
import type { TranslatedResource, XdsTranslator } from './translator.ts';
import { decodeResponse } from './wire.ts';

const EMPTY: Snapshot = { version: 0, listeners: [], clusters: [], routeConfigs: {}, node: { id: '', cluster: '' }, drainTimeMs: 0 };
const NO_REFS = { rds: [], eds: [], sds: [] };

export async function warmPrimary(translator: XdsTranslator, log: Logger, n = 300): Promise<void> {
  const encode = (url: string, objs: object[]) => {
    const t = lookupType(url.slice(url.lastIndexOf('/') + 1))!;
    return objs.map((o) => t.encode(t.fromObject(o)).finish());
  };
  const addr = (port: number) => ({ socket_address: { address: '10.0.0.1', port_value: port } });
  const names = Array.from({ length: n }, (_, i) => `warmup-${i}`);
  const clusters = encode(CLUSTER, names.map((name) => ({ name, type: 'EDS', connect_timeout: { seconds: 1 }, eds_cluster_config: { eds_config: { ads: {} } } })));
  const assignments = encode(ENDPOINT, names.map((name, i) => ({ cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: addr(1000 + i) } }, { endpoint: { address: addr(2000 + i) } }] }] })));
  const translated = new Map<string, TranslatedResource[]>([
    [CLUSTER, await translator.translate(CLUSTER, clusters.map((bytes) => ({ bytes })))],
    [ENDPOINT, await translator.translate(ENDPOINT, assignments.map((bytes) => ({ bytes })))],
  ]);
  const store = new XdsStore({ translate: async (url) => translated.get(url) ?? [], interest: () => {}, changed: () => {}, updated: () => {} }, log.child({}, { level: 'silent' }), 'ads');
  store.registerSource('ads', { kind: 'ads', initialFetchTimeoutMs: 0 });
  store.setStatic(NO_REFS, [], []);
  const composer = new SnapshotComposer();
  composer.setStatic(EMPTY, NO_REFS);
  composer.compose(1, store);
  const response = lookupType('envoy.service.discovery.v3.DiscoveryResponse')!;
  let version = 1;
  for (const [url, resources] of [[CLUSTER, clusters], [ENDPOINT, assignments]] as const) {
    const bytes = response.encode(response.fromObject({ version_info: '1', type_url: url, nonce: '1', resources: resources.map((value) => ({ type_url: url, value })) })).finish();
    const res = decodeResponse(bytes);
    await store.onUpdate({ typeUrl: url, source: 'ads', delta: false, version: res.version_info, resources: res.resources, removed: [], complete: url === CLUSTER });
    composer.composeDelta(++version, version - 1, store);
  }
  composer.healthClusters();
  store.stop();
}
