// Raw bootstrap (parsed YAML/JSON) → validated, normalized bootstrap → Snapshot, in one call.
import { decode, type Obj } from './decode.ts';
import { BOOTSTRAP_TYPE, lookupType } from './protos.ts';
import { translateBootstrap, type TranslateOptions, type TranslateResult } from './translate/bootstrap.ts';

export interface BuildResult extends TranslateResult {
  /** The normalized bootstrap (snake_case, decoded typed configs), for /config_dump. */
  bootstrapDump: Obj;
}

export function buildSnapshot(bootstrap: unknown, opts: TranslateOptions): BuildResult {
  const type = lookupType(BOOTSTRAP_TYPE)!;
  const d = decode(type, bootstrap, { strict: opts.strict === true });
  const t = translateBootstrap(d.value, opts);
  return { ...t, issues: [...d.issues, ...t.issues], bootstrapDump: d.value };
}
