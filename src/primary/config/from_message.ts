// Turns a protobufjs message (decoded from xDS binary) into the JSON-like input decode()
// accepts, so binary and YAML configs share one validator and one translator. Only the
// well-known types need care: Any is unpacked by type URL, Struct/Value become JSON, wrappers
// become plain values.
import protobuf from 'protobufjs';
import { join, type Issues } from './issues.ts';
import { lookupType, typeName } from './protos.ts';
import { SPECIAL_JSON, anyTypeName } from './wkt.ts';

type Obj = Record<string, unknown>;

const TO_OBJECT: protobuf.IConversionOptions = { enums: String, longs: Number, bytes: Buffer, defaults: false };

/** `strict` makes unknown binary fields (found while unpacking Any) errors instead of warnings. */
export function messageToInput(type: protobuf.Type, message: protobuf.Message, issues: Issues, path: string, strict = false): unknown {
  return objectToInput(type, type.toObject(message, TO_OBJECT), issues, path, strict);
}

function objectToInput(type: protobuf.Type, obj: Obj, issues: Issues, path: string, strict: boolean): unknown {
  const name = typeName(type);
  const special = SPECIAL_CONVERTERS[name];
  if (special !== undefined) return special(obj, type);
  if (name === 'google.protobuf.Any') return anyToInput(obj, issues, path, strict);
  const out: Obj = {};
  for (const k in obj) {
    const v = obj[k];
    const f = type.fields[k];
    const rt = f?.resolvedType;
    if (!(rt instanceof protobuf.Type)) {
      out[k] = v;
      continue;
    }
    // Paths only matter where an Any can report a problem: not worked out below types without one.
    const sub = hasAny(rt);
    if (f.map) out[k] = mapValues(v as Obj, (x, key) => objectToInput(rt, x as Obj, issues, sub ? join(join(path, k), key) : '', strict));
    else if (f.repeated) out[k] = (v as Obj[]).map((x, i) => objectToInput(rt, x, issues, sub ? join(join(path, k), i) : '', strict));
    else out[k] = objectToInput(rt, v as Obj, issues, sub ? join(path, k) : '', strict);
  }
  return out;
}

const anyInside = new WeakMap<protobuf.Type, boolean>();

/** Whether a message of this type can hold a google.protobuf.Any (at any depth). */
function hasAny(type: protobuf.Type): boolean {
  let r = anyInside.get(type);
  if (r === undefined) anyInside.set(type, (r = reachesAny(type, new Set())));
  return r;
}

function reachesAny(type: protobuf.Type, seen: Set<protobuf.Type>): boolean {
  if (typeName(type) === 'google.protobuf.Any') return true;
  seen.add(type);
  for (const f of type.fieldsArray) {
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Type && !seen.has(rt) && reachesAny(rt, seen)) return true;
  }
  return false;
}

/**
 * A reader that notes the field numbers the generated decoders skip: fields unknown to our copy
 * of the protos (a newer control plane), which protobufjs would otherwise drop silently.
 */
class TrackingReader extends protobuf.BufferReader {
  lastTag = 0;
  skipping = false;
  readonly unknown: number[] = [];

  override uint32(): number {
    const v = super.uint32();
    this.lastTag = v;
    return v;
  }

  override skipType(wireType: number, depth?: number): this {
    if (this.skipping) return super.skipType(wireType, depth) as this;
    this.unknown.push(this.lastTag >>> 3);
    this.skipping = true;
    try {
      return super.skipType(wireType, depth) as this;
    } finally {
      this.skipping = false;
    }
  }
}

/** Decodes `bytes` as `type`, returning the numbers of fields our protos do not know. */
export function decodeTracked(type: protobuf.Type, bytes: Uint8Array): { message: protobuf.Message; unknown: number[] } {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const r = new TrackingReader(buf);
  return { message: type.decode(r), unknown: r.unknown };
}

/** Unknown binary fields: ignored with a warning (an error in strict mode), as Envoy does. */
export function reportUnknownFields(issues: Issues, path: string, type: protobuf.Type, unknown: number[], strict: boolean): void {
  if (unknown.length === 0) return;
  const nums = [...new Set(unknown)].sort((a, b) => a - b).join(', ');
  const msg = `unknown field number(s) ${nums} in ${typeName(type)} or a message inside it`;
  if (strict) issues.error(path, msg);
  else issues.warn(path, `${msg} (ignored)`);
}

function anyToInput(obj: Obj, issues: Issues, path: string, strict: boolean): unknown {
  const url = String(obj.type_url ?? '');
  const inner = lookupType(anyTypeName(url));
  if (inner === null) return { '@type': url }; // decode() warns about the unknown type URL
  let decoded: protobuf.Message;
  try {
    const d = decodeTracked(inner, (obj.value as Uint8Array | undefined) ?? new Uint8Array(0));
    decoded = d.message;
    reportUnknownFields(issues, path, inner, d.unknown, strict);
  } catch (e) {
    issues.error(path, `cannot decode ${anyTypeName(url)}: ${(e as Error).message}`);
    return { '@type': url };
  }
  const body = messageToInput(inner, decoded, issues, path, strict);
  if (SPECIAL_JSON.has(typeName(inner))) return { '@type': url, value: body };
  return { '@type': url, ...(body as Obj) };
}

function mapValues(o: Obj, f: (v: unknown, k: string) => unknown): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) out[k] = f(v, k);
  return out;
}

function structToJson(o: Obj): Obj {
  return mapValues((o.fields as Obj | undefined) ?? {}, (v) => valueToJson(v as Obj));
}

function valueToJson(v: Obj): unknown {
  if (v.structValue !== undefined) return structToJson(v.structValue as Obj);
  if (v.listValue !== undefined) return listToJson(v.listValue as Obj);
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return null;
}

function listToJson(l: Obj): unknown[] {
  return ((l.values as Obj[] | undefined) ?? []).map(valueToJson);
}

/** A wrapper's value; toObject omits a default value, so put the default back. */
function wrapperValue(o: Obj, type: protobuf.Type): unknown {
  if (o.value !== undefined) return o.value;
  const t = type.fields.value.type;
  if (t === 'bool') return false;
  if (t === 'string') return '';
  if (t === 'bytes') return Buffer.alloc(0);
  return 0;
}

const WRAPPERS = ['Bool', 'String', 'Bytes', 'UInt32', 'Int32', 'UInt64', 'Int64', 'Double', 'Float'];

const SPECIAL_CONVERTERS: Record<string, (o: Obj, type: protobuf.Type) => unknown> = {
  'google.protobuf.Struct': structToJson,
  'google.protobuf.Value': valueToJson,
  'google.protobuf.ListValue': listToJson,
  'google.protobuf.Duration': (o) => ({ seconds: o.seconds ?? 0, nanos: o.nanos ?? 0 }),
  'google.protobuf.Timestamp': (o) => ({ seconds: o.seconds ?? 0, nanos: o.nanos ?? 0 }),
  'google.protobuf.FieldMask': (o) => ({ paths: o.paths ?? [] }),
  ...Object.fromEntries(WRAPPERS.map((w) => [`google.protobuf.${w}Value`, wrapperValue])),
};
