// Proto scalar and enum fields from YAML/JSON. Follows the proto3 JSON mapping (numbers may be
// quoted, bytes are base64) with one leniency YAML users need: a number or boolean given for a
// string field is converted (YAML turns an unquoted `80` into a number) with a warning.
import protobuf from 'protobufjs';
import type { Issues } from './issues.ts';
import { describe } from './wkt.ts';

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  sint32: [-(2 ** 31), 2 ** 31 - 1],
  sfixed32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
  fixed32: [0, 2 ** 32 - 1],
  // 64-bit values become JS numbers (toObject longs: Number); precision above 2^53 is lost.
  int64: [-(2 ** 63), 2 ** 63],
  sint64: [-(2 ** 63), 2 ** 63],
  sfixed64: [-(2 ** 63), 2 ** 63],
  uint64: [0, 2 ** 64],
  fixed64: [0, 2 ** 64],
};

export function scalar(t: string, v: unknown, path: string, issues: Issues): unknown {
  switch (t) {
    case 'string':
      return stringValue(v, path, issues);
    case 'bool':
      if (typeof v === 'boolean') return v;
      issues.error(path, `expected a boolean, got ${describe(v)}`);
      return undefined;
    case 'bytes':
      return bytesValue(v, path, issues);
    case 'double':
    case 'float':
      return floatValue(v, path, issues);
    default:
      return intValue(t, v, path, issues);
  }
}

function stringValue(v: unknown, path: string, issues: Issues): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') {
    issues.warn(path, `expected a string, got ${describe(v)}; using "${String(v)}"`);
    return String(v);
  }
  issues.error(path, `expected a string, got ${describe(v)}`);
  return undefined;
}

function intValue(t: string, v: unknown, path: string, issues: Issues): number | undefined {
  const range = INT_RANGES[t];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) {
    issues.error(path, `expected an integer (${t}), got ${describe(v)}`);
    return undefined;
  }
  if (range !== undefined && (n < range[0] || n > range[1])) {
    issues.error(path, `${n} is out of range for ${t}`);
    return undefined;
  }
  return n;
}

function floatValue(v: unknown, path: string, issues: Issues): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isNaN(n)) return n;
  }
  issues.error(path, `expected a number, got ${describe(v)}`);
  return undefined;
}

function bytesValue(v: unknown, path: string, issues: Issues): Buffer | undefined {
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v.replace(/\s+/g, ''))) {
    return Buffer.from(v.replace(/\s+/g, ''), v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
  }
  issues.error(path, `expected base64-encoded bytes, got ${describe(v)}`);
  return undefined;
}

/** Enum by name (exact, as in the proto) or number; the result is the value's name. */
export function enumValue(e: protobuf.Enum, v: unknown, path: string, issues: Issues): string | undefined {
  if (typeof v === 'string' && Object.hasOwn(e.values, v)) return v;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (Number.isInteger(n) && e.valuesById[n] !== undefined) return e.valuesById[n];
  const names = Object.keys(e.values);
  const shown = names.length <= 12 ? `; expected one of ${names.join(', ')}` : '';
  issues.error(path, `invalid value ${describe(v)} for enum ${e.fullName.replace(/^\./, '')}${shown}`);
  return undefined;
}
