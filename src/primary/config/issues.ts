// Collects config problems with their field paths while decoding and translating, so one pass
// reports every problem instead of stopping at the first.
import type { ConfigIssue } from '../../shared/errors.ts';

export class Issues {
  readonly list: ConfigIssue[] = [];
  /** Paths of fields Envoy has that Orion accepts but does not implement yet. */
  readonly unsupported: string[] = [];

  error(path: string, message: string): void {
    this.list.push({ path, message, severity: 'error' });
  }

  warn(path: string, message: string): void {
    this.list.push({ path, message, severity: 'warning' });
  }

  /** A field that is accepted but ignored: a warning plus an entry in `unsupported`. */
  unsupportedField(path: string, what = 'is not supported yet and is ignored'): void {
    this.unsupported.push(path);
    this.warn(path, what);
  }

  hasErrors(): boolean {
    return this.list.some((i) => i.severity === 'error');
  }

  errorCount(): number {
    return this.list.filter((i) => i.severity === 'error').length;
  }
}

/** Keys already checked for needing quotes (mostly field names: a small set). */
const plainKeys = new Map<string, boolean>();

/** `a.b` / `a[0]` / `a["key"]` path joining; the root path is ''. */
export function join(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  let plain = plainKeys.get(key);
  if (plain === undefined) {
    plain = /^[A-Za-z_@][A-Za-z0-9_@]*$/.test(key);
    if (plainKeys.size < 10_000) plainKeys.set(key, plain);
  }
  if (!plain) return `${base}[${JSON.stringify(key)}]`;
  return base === '' ? key : `${base}.${key}`;
}
