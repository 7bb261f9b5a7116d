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

export function messageToInput(type: protobuf.Type, message: protobuf.Message, issues: Issues, path: string): unknown {
  return objectToInput(type, type.toObject(message, TO_OBJECT), issues, path);
}

function objectToInput(type: protobuf.Type, obj: Obj, issues: Issues, path: string): unknown {
  const name = typeName(type);
  const special = SPECIAL_CONVERTERS[name];
  if (special !== undefined) return special(obj, type);
  if (name === 'google.protobuf.Any') return anyToInput(obj, issues, path);
  const out: Obj = {};
  for (const [k, v] of Object.entries(obj)) {
    const f = type.fields[k];
    const rt = f?.resolvedType;
    if (!(rt instanceof protobuf.Type)) out[k] = v;
    else if (f.map) out[k] = mapValues(v as Obj, (x, key) => objectToInput(rt, x as Obj, issues, join(join(path, k), key)));
    else if (f.repeated) out[k] = (v as Obj[]).map((x, i) => objectToInput(rt, x, issues, join(join(path, k), i)));
    else out[k] = objectToInput(rt, v as Obj, issues, join(path, k));
  }
  return out;
}

function anyToInput(obj: Obj, issues: Issues, path: string): unknown {
  const url = String(obj.type_url ?? '');
  const inner = lookupType(anyTypeName(url));
  if (inner === null) return { '@type': url }; // decode() warns about the unknown type URL
  let decoded: protobuf.Message;
  try {
    decoded = inner.decode((obj.value as Uint8Array | undefined) ?? new Uint8Array(0));
  } catch (e) {
    issues.error(path, `cannot decode ${anyTypeName(url)}: ${(e as Error).message}`);
    return { '@type': url };
  }
  const body = messageToInput(inner, decoded, issues, path);
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
