// Validates a plain JS object (parsed YAML/JSON, snake_case or camelCase keys) against a
// protobufjs Type and produces Orion's normalized form of a proto message:
//   - snake_case field names, only fields that are set (defaults are applied by the translator);
//   - enums as their names, 64-bit integers as numbers, bytes as Buffer;
//   - Duration/Timestamp as {seconds, nanos}; wrappers as plain values; Struct/Value as JSON;
//   - Any as {'@type': url, ...decoded fields}, TypedStruct unwrapped to its inner type.
// Every problem becomes a ConfigIssue with the exact field path. The same walker normalizes
// protobufjs messages decoded from xDS binary, so one translator serves both sources.
import protobuf from 'protobufjs';
import type { ConfigIssue } from '../../shared/errors.ts';
import { Issues, join } from './issues.ts';
import { lookupType, typeName } from './protos.ts';
import { checkRules } from './pgv.ts';
import { WELL_KNOWN, SPECIAL_JSON, TYPED_STRUCTS, isPlainObject, describe, toJsonValue, anyTypeName } from './wkt.ts';
import { scalar, enumValue } from './scalars.ts';
import { messageToInput } from './from_message.ts';

export type Obj = Record<string, unknown>;

export interface DecodeOptions {
  /** Unknown fields are errors instead of warnings. */
  strict?: boolean;
}

export interface DecodeResult {
  value: Obj;
  issues: ConfigIssue[];
}

/** Decodes YAML/JSON input; `path` prefixes every issue path (e.g. for a nested document). */
export function decode(type: protobuf.Type, input: unknown, opts: DecodeOptions = {}, path = ''): DecodeResult {
  const issues = new Issues();
  const value = new Decoder(issues, opts.strict === true).value(type, input, path);
  return { value: isPlainObject(value) ? value : {}, issues: issues.list };
}

/** Decodes into an existing collector (the translator uses this for nested typed configs). */
export function decodeInto(issues: Issues, type: protobuf.Type, input: unknown, path: string, strict = false): unknown {
  return new Decoder(issues, strict).value(type, input, path);
}

/** Normalizes a protobufjs message (e.g. decoded from xDS binary) into the same form as decode(). */
export function normalizeMessage(type: protobuf.Type, message: protobuf.Message, opts: DecodeOptions = {}, path = ''): DecodeResult {
  const issues = new Issues();
  const input = messageToInput(type, message, issues, path, opts.strict === true);
  const value = new Decoder(issues, opts.strict === true, true).value(type, input, path);
  return { value: isPlainObject(value) ? value : {}, issues: issues.list };
}

const fieldIndex = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** Field by its proto name or its camelCase JSON name. */
export function fieldByName(type: protobuf.Type, key: string): protobuf.Field | undefined {
  let idx = fieldIndex.get(type);
  if (idx === undefined) {
    idx = new Map();
    for (const f of type.fieldsArray) {
      idx.set(f.name, f);
      idx.set(camel(f.name), f);
      const jsonName = f.options?.json_name;
      if (typeof jsonName === 'string') idx.set(jsonName, f);
    }
    fieldIndex.set(type, idx);
  }
  return idx.get(key);
}

function camel(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * A proto3 scalar without explicit presence set to its default (false, 0, '', first enum value)
 * is indistinguishable from unset on the wire, so it is dropped here too: YAML and xDS binary
 * then normalize identically, and `x: false` never reads as "field in use".
 */
function isImplicitDefault(field: protobuf.Field, v: unknown): boolean {
  if (field.repeated || field.map || field.partOf !== null) return false;
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return false;
  if (rt instanceof protobuf.Enum) return rt.values[v as string] === 0;
  return v === false || v === 0 || v === '' || (v instanceof Uint8Array && v.length === 0);
}

const oneofsOf = new WeakMap<protobuf.Type, protobuf.OneOf[]>();

/** A type's oneofs that can conflict (proto3 `optional` makes synthetic ones of one member). */
function realOneofs(type: protobuf.Type): protobuf.OneOf[] {
  let o = oneofsOf.get(type);
  if (o === undefined) oneofsOf.set(type, (o = type.oneofsArray.filter((x) => x.oneof.length >= 2)));
  return o;
}

export function typeLabel(type: protobuf.Type): string {
  return typeName(type);
}

class Decoder {
  readonly issues: Issues;
  readonly strict: boolean;
  /**
   * The input comes from a decoded message: keys are proto field names, each once (no camelCase
   * aliases to reconcile). Off again inside TypedStruct values, which are user-written JSON.
   */
  private canonical: boolean;

  constructor(issues: Issues, strict: boolean, canonical = false) {
    this.issues = issues;
    this.strict = strict;
    this.canonical = canonical;
  }

  /** A value of message type; undefined when invalid (the issue is already recorded). */
  value(type: protobuf.Type, v: unknown, path: string): unknown {
    const name = typeLabel(type);
    if (name === 'google.protobuf.Any') return this.any(v, path);
    const wk = WELL_KNOWN[name];
    if (wk !== undefined) return wk(v, path, this.issues);
    return this.message(type, v, path);
  }

  message(type: protobuf.Type, v: unknown, path: string): Obj | undefined {
    if (!isPlainObject(v)) {
      this.issues.error(path, `expected an object (${typeLabel(type)}), got ${describe(v)}`);
      return undefined;
    }
    const out: Obj = {};
    const seen = this.canonical ? null : new Map<string, string>();
    for (const key in v) {
      const raw = v[key];
      const field = fieldByName(type, key);
      if (field === undefined) {
        this.unknownField(type, key, path);
        continue;
      }
      const fp = join(path, field.name);
      if (seen !== null) {
        const prev = seen.get(field.name);
        seen.set(field.name, key);
        if (prev !== undefined) {
          this.issues.error(fp, `field given twice (as "${prev}" and "${key}")`);
          continue;
        }
      }
      if (raw === null || raw === undefined) continue; // proto3 JSON: null means "not set"
      if (field.options?.deprecated === true) this.issues.warn(fp, `deprecated field of ${typeLabel(type)}`);
      const d = this.field(field, raw, fp);
      if (d !== undefined && !isImplicitDefault(field, d)) out[field.name] = d;
    }
    this.checkOneofs(type, out, path);
    checkRules(type, out, path, this.issues);
    return out;
  }

  private unknownField(type: protobuf.Type, key: string, path: string): void {
    const msg = `unknown field "${key}" in ${typeLabel(type)}`;
    if (this.strict) this.issues.error(join(path, key), msg);
    else this.issues.warn(join(path, key), `${msg} (ignored)`);
  }

  private field(field: protobuf.Field, raw: unknown, path: string): unknown {
    if (field.map) return this.map(field as unknown as protobuf.MapField, raw, path);
    if (!field.repeated) return this.single(field, raw, path);
    if (!Array.isArray(raw)) {
      this.issues.error(path, `expected a list, got ${describe(raw)}`);
      return undefined;
    }
    const out: unknown[] = [];
    raw.forEach((x, i) => {
      const d = x === null ? this.nullItem(join(path, i)) : this.single(field, x, join(path, i));
      if (d !== undefined) out.push(d);
    });
    return out;
  }

  private nullItem(path: string): undefined {
    this.issues.error(path, 'list item is null');
    return undefined;
  }

  private single(field: protobuf.FieldBase, raw: unknown, path: string): unknown {
    const rt = field.resolvedType;
    if (rt instanceof protobuf.Type) return this.value(rt, raw, path);
    if (rt instanceof protobuf.Enum) return enumValue(rt, raw, path, this.issues);
    return scalar(field.type, raw, path, this.issues);
  }

  private map(field: protobuf.MapField, raw: unknown, path: string): Obj | undefined {
    if (!isPlainObject(raw)) {
      this.issues.error(path, `expected a map (object), got ${describe(raw)}`);
      return undefined;
    }
    const out: Obj = {};
    for (const [k, x] of Object.entries(raw)) {
      const kp = join(path, k);
      if (field.keyType !== 'string' && scalar(field.keyType, k, kp, this.issues) === undefined) continue;
      const d = x === null ? undefined : this.single(field, x, kp);
      if (d !== undefined) out[k] = d;
    }
    return out;
  }

  private checkOneofs(type: protobuf.Type, out: Obj, path: string): void {
    for (const oneof of realOneofs(type)) {
      let n = 0;
      for (const name of oneof.oneof) if (out[name] !== undefined) n++;
      if (n < 2) continue;
      const set = oneof.oneof.filter((name) => out[name] !== undefined);
      this.issues.error(join(path, set[1]), `conflicts with "${set[0]}": only one of ${oneof.oneof.join(', ')} may be set`);
    }
  }

  private any(v: unknown, path: string): Obj | undefined {
    if (!isPlainObject(v)) {
      this.issues.error(path, `expected an object with "@type", got ${describe(v)}`);
      return undefined;
    }
    const url = v['@type'];
    if (typeof url !== 'string' || url === '') {
      this.issues.error(join(path, '@type'), 'missing "@type" (the type URL of the embedded config)');
      return undefined;
    }
    const { '@type': _t, ...rest } = v;
    const name = anyTypeName(url);
    if (TYPED_STRUCTS.has(name)) return this.typedStruct(rest, path);
    return this.embedded(url, rest, path, path);
  }

  /** Decodes `body` as the message named by `url`; unknown types are kept opaque. */
  private embedded(url: string, body: Obj, path: string, bodyPath: string): Obj | undefined {
    const type = lookupType(anyTypeName(url));
    if (type === null) {
      this.issues.warn(path, `unknown type URL "${url}"; config kept opaque`);
      return { '@type': url, ...(toJsonValue(body) as Obj) };
    }
    if (SPECIAL_JSON.has(typeLabel(type))) {
      const inner = this.value(type, body.value, join(bodyPath, 'value'));
      return inner === undefined ? undefined : { '@type': url, value: inner };
    }
    const inner = this.message(type, body, bodyPath);
    return inner === undefined ? undefined : { '@type': url, ...inner };
  }

  private typedStruct(rest: Obj, path: string): Obj | undefined {
    const url = rest.type_url ?? rest.typeUrl;
    for (const k of Object.keys(rest)) {
      if (k !== 'type_url' && k !== 'typeUrl' && k !== 'value') this.unknownField(lookupType('xds.type.v3.TypedStruct')!, k, path);
    }
    if (typeof url !== 'string' || url === '') {
      this.issues.error(join(path, 'type_url'), 'TypedStruct needs type_url');
      return undefined;
    }
    const value = rest.value ?? {};
    if (!isPlainObject(value)) {
      this.issues.error(join(path, 'value'), `expected an object, got ${describe(value)}`);
      return undefined;
    }
    const canonical = this.canonical;
    this.canonical = false;
    try {
      return this.embedded(url, value, path, join(path, 'value'));
    } finally {
      this.canonical = canonical;
    }
  }
}
