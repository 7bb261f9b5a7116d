// google.protobuf well-known types, whose JSON form differs from a plain message.
import type { Issues } from './issues.ts';

type Obj = Record<string, unknown>;
type WkDecoder = (v: unknown, path: string, issues: Issues) => unknown;

export function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Short description of a bad value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return `${typeof v} ${String(v)}`;
}

/** The message name from a type URL (`type.googleapis.com/a.b.C` → `a.b.C`). */
export function anyTypeName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

export const TYPED_STRUCTS = new Set(['udpa.type.v1.TypedStruct', 'xds.type.v3.TypedStruct']);

/** Deep copy as JSON data (drops undefined and functions); used for Struct and opaque configs. */
export function toJsonValue(v: unknown): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : toJsonValue(x)));
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'object') {
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined && typeof x !== 'function') out[k] = toJsonValue(x);
    return out;
  }
  return null;
}

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_SECONDS = 315_576_000_000;

function duration(v: unknown, path: string, issues: Issues): unknown {
  if (typeof v === 'string') {
    const m = DURATION_RE.exec(v.trim());
    if (m === null) {
      issues.error(path, `invalid duration ${JSON.stringify(v)}: expected seconds with an "s" suffix, e.g. "5s" or "0.25s"`);
      return undefined;
    }
    const sign = m[1] === '-' ? -1 : 1;
    const seconds = Number(m[2]);
    if (seconds > MAX_SECONDS) return outOfRange(path, issues);
    return { seconds: sign * seconds, nanos: sign * Number((m[3] ?? '').padEnd(9, '0')) };
  }
  return secondsNanos(v, path, issues, 'duration');
}

function timestamp(v: unknown, path: string, issues: Issues): unknown {
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (Number.isNaN(ms)) {
      issues.error(path, `invalid timestamp ${JSON.stringify(v)} (expected RFC 3339)`);
      return undefined;
    }
    return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
  }
  return secondsNanos(v, path, issues, 'timestamp');
}

function secondsNanos(v: unknown, path: string, issues: Issues, what: string): unknown {
  if (isPlainObject(v)) {
    const s = v.seconds ?? 0;
    const n = v.nanos ?? 0;
    const seconds = typeof s === 'string' && /^-?\d+$/.test(s) ? Number(s) : s;
    const extra = Object.keys(v).filter((k) => k !== 'seconds' && k !== 'nanos');
    if (Number.isInteger(seconds) && Number.isInteger(n) && Math.abs(n as number) < 1e9 && extra.length === 0) {
      if (Math.abs(seconds as number) > MAX_SECONDS) return outOfRange(path, issues);
      return { seconds, nanos: n };
    }
  }
  issues.error(path, `invalid ${what} ${describeShort(v)}: expected a string like "5s" or {seconds, nanos}`);
  return undefined;
}

function describeShort(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? JSON.stringify(toJsonValue(v)) : String(v);
}

function outOfRange(path: string, issues: Issues): undefined {
  issues.error(path, 'duration out of range');
  return undefined;
}

function struct(v: unknown, path: string, issues: Issues): unknown {
  if (isPlainObject(v)) return toJsonValue(v);
  issues.error(path, `expected an object (google.protobuf.Struct), got ${describe(v)}`);
  return undefined;
}

function listValue(v: unknown, path: string, issues: Issues): unknown {
  if (Array.isArray(v)) return toJsonValue(v);
  issues.error(path, `expected a list (google.protobuf.ListValue), got ${describe(v)}`);
  return undefined;
}

function fieldMask(v: unknown, path: string, issues: Issues): unknown {
  if (typeof v === 'string') return { paths: v === '' ? [] : v.split(',').map((p) => p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)) };
  if (isPlainObject(v) && Array.isArray(v.paths) && v.paths.every((p) => typeof p === 'string')) return { paths: [...v.paths] };
  issues.error(path, `expected a field mask ("a,b.c"), got ${describe(v)}`);
  return undefined;
}

/** A wrapper (UInt32Value etc.) is its plain value; `{value: x}` is accepted too. */
function wrapper(check: (v: unknown) => boolean, label: string, conv: (v: unknown) => unknown = (x) => x): WkDecoder {
  return (v, path, issues) => {
    const inner = isPlainObject(v) && Object.keys(v).length === 1 && 'value' in v ? v.value : v;
    if (check(inner)) return conv(inner);
    issues.error(path, `expected ${label}, got ${describe(inner)}`);
    return undefined;
  };
}

const isIntLike = (min: number, max: number) => (v: unknown): boolean => {
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
};
const toNum = (v: unknown): number => Number(v);
const isNum = (v: unknown): boolean => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)));

export const WELL_KNOWN: Record<string, WkDecoder> = {
  'google.protobuf.Duration': duration,
  'google.protobuf.Timestamp': timestamp,
  'google.protobuf.Struct': struct,
  'google.protobuf.Value': (v) => toJsonValue(v),
  'google.protobuf.ListValue': listValue,
  'google.protobuf.FieldMask': fieldMask,
  'google.protobuf.BoolValue': wrapper((v) => typeof v === 'boolean', 'a boolean'),
  'google.protobuf.StringValue': wrapper((v) => typeof v === 'string', 'a string'),
  'google.protobuf.UInt32Value': wrapper(isIntLike(0, 2 ** 32 - 1), 'an unsigned 32-bit integer', toNum),
  'google.protobuf.Int32Value': wrapper(isIntLike(-(2 ** 31), 2 ** 31 - 1), 'a 32-bit integer', toNum),
  'google.protobuf.UInt64Value': wrapper(isIntLike(0, 2 ** 64), 'an unsigned integer', toNum),
  'google.protobuf.Int64Value': wrapper(isIntLike(-(2 ** 63), 2 ** 63), 'an integer', toNum),
  'google.protobuf.DoubleValue': wrapper(isNum, 'a number', toNum),
  'google.protobuf.FloatValue': wrapper(isNum, 'a number', toNum),
  'google.protobuf.BytesValue': wrapper(
    (v) => v instanceof Uint8Array || (typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v)),
    'base64-encoded bytes',
    (v) => (v instanceof Uint8Array ? Buffer.from(v) : Buffer.from(v as string, 'base64')),
  ),
};

/** Types whose JSON is not an object, so inside an Any they sit under a "value" key. */
export const SPECIAL_JSON = new Set(Object.keys(WELL_KNOWN));
