// Loads the config named on the command line and translates it into the first snapshot.
// Translation runs on the translator's worker thread so the primary's loop stays free.
import { unpack } from 'msgpackr';
import type { CliOptions } from './cli_args.ts';
import type { ConfigIssue } from '../shared/errors.ts';
import { OrionError } from '../shared/errors.ts';
import type { Snapshot, SocketAddress } from '../shared/snapshot.ts';
import { loadConfigFile, type LoggingSettings, type RuntimeSettings } from './config/runtime_file.ts';
import { createTranslator } from './config/pipeline.ts';
import type { XdsBootstrap } from './config/translate/bootstrap.ts';

export interface LoadedConfig {
  runtime: RuntimeSettings;
  logging: LoggingSettings;
  notes: string[];
  issues: ConfigIssue[];
  /** Present only when the config had no errors. */
  snapshot: Snapshot;
  snapshotBytes: Uint8Array;
  admin: SocketAddress | null;
  bootstrapDump: unknown;
  unsupported: string[];
  /** dynamic_resources and the xDS references of static resources; null without xDS. */
  xds: XdsBootstrap | null;
}

export async function loadConfig(opts: CliOptions, version = 1): Promise<LoadedConfig> {
  if (opts.configPath === undefined && opts.configYaml === undefined) {
    throw new OrionError('ORION_NO_CONFIG', 'no configuration given: use -c/--config FILE (an Orion runtime file or an Envoy bootstrap)');
  }
  const file = loadConfigFile(opts.configPath ?? '', { withEnvoyBootstrap: opts.envoyBootstrapPath, configYaml: opts.configYaml });
  const base = { runtime: file.runtime, logging: file.logging, notes: file.notes };
  if (file.issues.some((i) => i.severity === 'error')) {
    return { ...base, issues: file.issues, snapshot: emptySnapshot(), snapshotBytes: new Uint8Array(), admin: null, bootstrapDump: {}, unsupported: [], xds: null };
  }
  applyNodeOverrides(file.bootstrap, opts, process.env);
  // The translator thread holds Envoy's protos (~100 MB): it lives only as long as a (re)load.
  const translator = createTranslator();
  const out = await translator.translate({ bootstrap: file.bootstrap, strict: opts.strict, version, drainTimeMs: opts.drainTimeS * 1000 }).finally(() => translator.close());
  const snapshotBytes = new Uint8Array(out.snapshotBytes);
  return {
    ...base,
    issues: [...file.issues, ...out.issues],
    snapshot: unpack(snapshotBytes) as Snapshot,
    snapshotBytes,
    admin: out.admin,
    bootstrapDump: out.bootstrapDump,
    unsupported: out.unsupported,
    xds: out.xds,
  };
}

function emptySnapshot(): Snapshot {
  return { version: 0, listeners: [], clusters: [], routeConfigs: {}, node: { id: '', cluster: '' }, drainTimeMs: 0 };
}


/**
 * The node identity sent to control planes: Envoy's --service-node/--service-cluster flags, and
 * Kubernetes' POD_NAME/POD_NAMESPACE (as Orion does), override the bootstrap's `node`.
 */
export function applyNodeOverrides(bootstrap: Record<string, unknown>, opts: CliOptions, env: Record<string, string | undefined>): void {
  const id = env.POD_NAME || opts.serviceNode;
  const cluster = env.POD_NAMESPACE || opts.serviceCluster;
  if (id === undefined && cluster === undefined) return;
  const node = (bootstrap.node ?? {}) as Record<string, unknown>;
  if (id !== undefined) node.id = id;
  if (cluster !== undefined) node.cluster = cluster;
  bootstrap.node = node;
}
