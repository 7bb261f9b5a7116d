// Access loggers (file and stdout/stderr). Logs do not change what is served, so an unknown
// logger or an access-log filter is a warning and the logger is dropped or logs everything.
import type { AccessLogSnap } from '../../../shared/snapshot.ts';
import { anyBody, anyType, checkRest, join, list, obj, str, unsupported, type Ctx, type Obj } from './context.ts';

const FILE = 'envoy.extensions.access_loggers.file.v3.FileAccessLog';
const STDOUT = 'envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
const STDERR = 'envoy.extensions.access_loggers.stream.v3.StderrAccessLog';

export function accessLogs(v: unknown, path: string, ctx: Ctx): AccessLogSnap[] {
  const out: AccessLogSnap[] = [];
  list(v).forEach((a, i) => {
    const snap = accessLog(a, join(path, i), ctx);
    if (snap !== null) out.push(snap);
  });
  return out;
}

function accessLog(a: Obj, path: string, ctx: Ctx): AccessLogSnap | null {
  checkRest(ctx, a, path, ['name', 'typed_config']);
  const type = anyType(a.typed_config);
  const body = anyBody(a.typed_config);
  const cfgPath = join(path, 'typed_config');
  const name = str(a.name);
  if (type === FILE) {
    checkRest(ctx, body, cfgPath, ['path', 'format', 'json_format', 'log_format']);
    return { name, path: str(body.path), ...format(body, cfgPath, ctx) };
  }
  if (type === STDOUT || type === STDERR) {
    checkRest(ctx, body, cfgPath, ['log_format']);
    return { name, path: type === STDOUT ? '/dev/stdout' : '/dev/stderr', ...format(body, cfgPath, ctx) };
  }
  unsupported(ctx, cfgPath, `access logger ${type || name} is not supported; it is dropped`);
  return null;
}

/** Text or JSON format: legacy `format`/`json_format` or a SubstitutionFormatString `log_format`. */
function format(body: Obj, path: string, ctx: Ctx): Pick<AccessLogSnap, 'format' | 'jsonFormat'> {
  if (typeof body.format === 'string') return { format: body.format, jsonFormat: null };
  if (body.json_format !== undefined) return { format: null, jsonFormat: obj(body.json_format) };
  if (body.log_format === undefined) return { format: null, jsonFormat: null };
  const lf = obj(body.log_format);
  const lp = join(path, 'log_format');
  checkRest(ctx, lf, lp, ['text_format', 'json_format', 'text_format_source']);
  if (typeof lf.text_format === 'string') return { format: lf.text_format, jsonFormat: null };
  if (lf.json_format !== undefined) return { format: null, jsonFormat: obj(lf.json_format) };
  const src = obj(lf.text_format_source);
  if (typeof src.inline_string === 'string') return { format: src.inline_string, jsonFormat: null };
  if (lf.text_format_source !== undefined) unsupported(ctx, join(lp, 'text_format_source'), 'only inline_string text_format_source is supported; default format used');
  return { format: null, jsonFormat: null };
}
