// Envoy's header value formatter: `%DOWNSTREAM_REMOTE_ADDRESS%`, `%REQ(x)%`, `%START_TIME%`, …
// A value without `%` stays a constant string, so the common case costs nothing per request.

export interface FormatContext {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  startTime: number;
  protocol: string;
  upstreamHost: string;
  requestHeader(name: string): string | null;
  /** The connection's dynamic metadata at `ns` then `path` (PROXY TLV rules, internal_upstream passthrough). */
  dynamicMetadata?(ns: string, path: string[]): unknown;
}

type Part = string | ((c: FormatContext) => string);
export type HeaderValue = string | ((c: FormatContext) => string);

const VAR = /%([A-Z_]+)(?:\(([^)]*)\))?%|%%/g;

export function compileHeaderValue(v: string): HeaderValue {
  if (!v.includes('%')) return v;
  const parts: Part[] = [];
  let last = 0;
  for (const m of v.matchAll(VAR)) {
    if (m.index > last) parts.push(v.slice(last, m.index));
    parts.push(m[0] === '%%' ? '%' : variable(m[1], m[2] ?? '', m[0]));
    last = m.index + m[0].length;
  }
  if (last < v.length) parts.push(v.slice(last));
  return (c) => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : p(c);
    return s;
  };
}

function variable(name: string, arg: string, literal: string): Part {
  switch (name) {
    case 'DOWNSTREAM_REMOTE_ADDRESS':
      return (c) => hostPort(c.remoteAddress, c.remotePort);
    case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT':
      return (c) => c.remoteAddress;
    case 'DOWNSTREAM_LOCAL_ADDRESS':
      return (c) => hostPort(c.localAddress, c.localPort);
    case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT':
      return (c) => c.localAddress;
    case 'PROTOCOL':
      return (c) => c.protocol;
    case 'UPSTREAM_HOST':
      return (c) => c.upstreamHost;
    case 'START_TIME':
      return (c) => new Date(c.startTime).toISOString();
    case 'REQ':
      return (c) => c.requestHeader(arg.split(')')[0].split('?')[0].toLowerCase()) ?? '';
    case 'HOSTNAME':
      return () => process.env.HOSTNAME ?? '';
    case 'DYNAMIC_METADATA': {
      const [ns, ...path] = arg.split(':');
      return (c) => metadataString(c.dynamicMetadata?.(ns, path));
    }
    default:
      return literal;
  }
}

/** Strings as they are, anything else as JSON (Envoy's rendering of a protobuf Value); '' when absent. */
function metadataString(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function hostPort(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}
