// A subset of Envoy's protoc-gen-validate rules, read from the field options protobufjs keeps
// (e.g. `(validate.rules).string.min_len: 1`). Envoy rejects configs breaking these, so we do
// too, with the field path. Like PGV, scalar rules also apply to unset scalars (their default),
// but not to unset oneof members or wrappers. Rules we do not evaluate are simply skipped.
import protobuf from 'protobufjs';
import { join, type Issues } from './issues.ts';
import { typeName } from './protos.ts';

type Obj = Record<string, unknown>;
const PREFIX = '(validate.rules).';
const REQUIRED = ['message.required', 'any.required', 'duration.required'];
const NUMERIC = new Set(['uint32', 'uint64', 'int32', 'int64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'double', 'float']);

interface TypeRules {
  fields: [protobuf.Field, Map<string, unknown>][];
  requiredOneofs: protobuf.OneOf[];
}

const typeRules = new WeakMap<protobuf.Type, TypeRules>();

/** The fields of a type that have rules, and its required oneofs (worked out once per type). */
function rulesOf(type: protobuf.Type): TypeRules {
  let r = typeRules.get(type);
  if (r === undefined) {
    r = { fields: [], requiredOneofs: [] };
    for (const f of type.fieldsArray) {
      const rules = fieldRules(f);
      if (rules !== null) r.fields.push([f, rules]);
    }
    for (const o of type.oneofsArray) if (o.options?.['(validate.required)'] === true) r.requiredOneofs.push(o);
    typeRules.set(type, r);
  }
  return r;
}

export function checkRules(type: protobuf.Type, out: Obj, path: string, issues: Issues): void {
  const r = rulesOf(type);
  for (const [f, rules] of r.fields) {
    const present = out[f.name] !== undefined;
    if (!present && f.partOf !== null) continue;
    checkField(f, rules, out[f.name], join(path, f.name), issues);
  }
  for (const o of r.requiredOneofs) {
    if (o.oneof.some((n) => out[n] !== undefined)) continue;
    issues.error(path, `one of ${o.oneof.join(', ')} is required`);
  }
}

const ruleCache = new WeakMap<protobuf.Field, Map<string, unknown> | null>();

/** `string.min_len` → 1, etc. for one field; null when it has no validate rules. */
function fieldRules(f: protobuf.Field): Map<string, unknown> | null {
  let r = ruleCache.get(f);
  if (r !== undefined) return r;
  r = null;
  for (const [k, v] of Object.entries(f.options ?? {})) {
    if (!k.startsWith(PREFIX)) continue;
    r ??= new Map();
    r.set(k.slice(PREFIX.length), v);
  }
  ruleCache.set(f, r);
  return r;
}

function checkField(f: protobuf.Field, rules: Map<string, unknown>, value: unknown, path: string, issues: Issues): void {
  const present = value !== undefined;
  if (!present) {
    for (const req of REQUIRED) if (rules.get(req) === true) issues.error(path, 'is required');
  }
  if (f.repeated || f.map) return checkList(f, rules, value, path, issues);
  // Unset messages (wrappers included) are not validated, unset scalars are: PGV semantics.
  if (f.resolvedType instanceof protobuf.Type && !present) return;
  const t = f.resolvedType instanceof protobuf.Type ? typeName(f.resolvedType) : f.type;
  if (t === 'string' || t === 'google.protobuf.StringValue') checkString(rules, 'string', (value as string | undefined) ?? '', present, path, issues);
  else if (t === 'bytes') checkBytes(rules, value as Uint8Array | undefined, path, issues);
  else if (t === 'bool' || t === 'google.protobuf.BoolValue') checkBool(rules, value === true, path, issues);
  else if (t === 'google.protobuf.Duration') checkDuration(rules, value as Obj, path, issues);
  else if (f.resolvedType instanceof protobuf.Enum) checkEnum(f.resolvedType, rules, value as string | undefined, path, issues);
  else checkNumber(rules, typeof value === 'number' ? value : 0, path, issues);
}

function checkString(rules: Map<string, unknown>, kind: string, s: string, present: boolean, path: string, issues: Issues): void {
  if (rules.get(`${kind}.ignore_empty`) === true && s === '') return;
  const minLen = rules.get(`${kind}.min_len`) ?? rules.get(`${kind}.min_bytes`);
  if (typeof minLen === 'number' && [...s].length < minLen) {
    issues.error(path, present ? `must be at least ${minLen} character(s) long` : 'is required');
  }
  const maxLen = rules.get(`${kind}.max_len`);
  if (typeof maxLen === 'number' && [...s].length > maxLen) issues.error(path, `must be at most ${maxLen} characters long`);
  const maxBytes = rules.get(`${kind}.max_bytes`);
  if (typeof maxBytes === 'number' && Buffer.byteLength(s) > maxBytes) issues.error(path, `must be at most ${maxBytes} bytes long`);
}

function checkBytes(rules: Map<string, unknown>, b: Uint8Array | undefined, path: string, issues: Issues): void {
  const len = b?.length ?? 0;
  const min = rules.get('bytes.min_len');
  if (typeof min === 'number' && len < min) issues.error(path, b === undefined ? 'is required' : `must be at least ${min} bytes`);
  const max = rules.get('bytes.max_len');
  if (typeof max === 'number' && len > max) issues.error(path, `must be at most ${max} bytes`);
}

function checkBool(rules: Map<string, unknown>, b: boolean, path: string, issues: Issues): void {
  const c = rules.get('bool.const');
  if (typeof c === 'boolean' && b !== c) issues.error(path, `must be ${c}`);
}

function checkEnum(e: protobuf.Enum, rules: Map<string, unknown>, name: string | undefined, path: string, issues: Issues): void {
  const notIn = rules.get('enum.not_in');
  if (notIn === undefined) return;
  const n = name === undefined ? 0 : e.values[name];
  const banned = Array.isArray(notIn) ? notIn : [notIn];
  if (banned.includes(n)) issues.error(path, `value ${name ?? e.valuesById[0]} is not allowed here`);
}

function checkNumber(rules: Map<string, unknown>, n: number, path: string, issues: Issues): void {
  for (const [k, bound] of rules) {
    const dot = k.indexOf('.');
    if (!NUMERIC.has(k.slice(0, dot)) || typeof bound !== 'number') continue;
    const msg = boundViolation(k.slice(dot + 1), n, bound);
    if (msg !== null) issues.error(path, `${n} ${msg}`);
  }
}

function boundViolation(op: string, n: number, b: number): string | null {
  if (op === 'gt' && !(n > b)) return `must be greater than ${b}`;
  if (op === 'gte' && !(n >= b)) return `must be at least ${b}`;
  if (op === 'lt' && !(n < b)) return `must be less than ${b}`;
  if (op === 'lte' && !(n <= b)) return `must be at most ${b}`;
  return null;
}

function checkDuration(rules: Map<string, unknown>, d: Obj, path: string, issues: Issues): void {
  const ms = Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6;
  for (const op of ['gt', 'gte', 'lt', 'lte']) {
    const s = rules.get(`duration.${op}.seconds`);
    const ns = rules.get(`duration.${op}.nanos`);
    if (s === undefined && ns === undefined) continue;
    const bound = Number(s ?? 0) * 1000 + Number(ns ?? 0) / 1e6;
    const msg = boundViolation(op, ms, bound);
    if (msg !== null) issues.error(path, `duration ${ms}ms ${msg}ms`);
  }
}

function checkList(f: protobuf.Field, rules: Map<string, unknown>, value: unknown, path: string, issues: Issues): void {
  const n = Array.isArray(value) ? value.length : value !== undefined ? Object.keys(value as Obj).length : 0;
  const min = rules.get('repeated.min_items') ?? rules.get('map.min_pairs');
  if (typeof min === 'number' && n < min) issues.error(path, n === 0 ? `needs at least ${min} item(s)` : `has ${n} item(s), needs at least ${min}`);
  const max = rules.get('repeated.max_items') ?? rules.get('map.max_pairs');
  if (typeof max === 'number' && n > max) issues.error(path, `has ${n} items, at most ${max} allowed`);
  if (!Array.isArray(value) || f.map) return;
  value.forEach((item, i) => {
    if (typeof item === 'string') checkString(prefixed(rules, 'repeated.items.'), 'string', item, true, join(path, i), issues);
    else if (typeof item === 'number') checkNumber(prefixed(rules, 'repeated.items.'), item, join(path, i), issues);
  });
}

function prefixed(rules: Map<string, unknown>, prefix: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of rules) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}
