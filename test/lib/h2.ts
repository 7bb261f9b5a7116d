// HTTP/2 and TLS helpers for tests: real clients (curl, h2load, openssl, node:http2) run as they
// would by a user, an HTTP/2 upstream server, and test certificates made with openssl.
import { execFile, spawn } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CurlResult {
  code: number | null;
  status: number;
  /** e.g. 'HTTP/2', 'HTTP/1.1' */
  version: string;
  headers: Record<string, string>;
  body: string;
  stderr: string;
}

/** Runs curl with `-i` (response head included) and parses the last response. */
export function curl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CurlResult> {
  return new Promise((resolve) => {
    const p = spawn('curl', ['-sS', '-i', '--max-time', String((opts.timeoutMs ?? 5000) / 1000), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.setEncoding('latin1');
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.stdin.end(opts.input ?? '');
    p.on('close', (code) => resolve({ code, ...parseHead(out), stderr: err }));
  });
}

function parseHead(out: string): Omit<CurlResult, 'code' | 'stderr'> {
  // Skip 1xx heads; the last head before the body is the response.
  let rest = out;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return { status: 0, version: '', headers: {}, body: out };
    const head = rest.slice(0, end);
    const body = rest.slice(end + 4);
    const [line, ...lines] = head.split('\r\n');
    const m = /^(HTTP\/[\d.]+) (\d{3})/.exec(line);
    const status = m === null ? 0 : Number(m[2]);
    if (status >= 100 && status < 200 && /^HTTP\//.test(body)) {
      rest = body;
      continue;
    }
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    return { status, version: m?.[1] ?? '', headers, body: Buffer.from(body, 'latin1').toString('utf8') };
  }
}

/** Runs a program to completion with a time bound; resolves with its output. */
export function run(cmd: string, args: string[], timeoutMs = 20000, input?: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null, out: stdout + stderr });
    });
    // The child may exit without reading its input (openssl req): EPIPE is not a test failure.
    p.stdin?.on('error', () => {});
    p.stdin?.end(input ?? '');
  });
}

export interface H2Response {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders | null;
  body: string;
}

/** One request on an existing session (node:http2 client). */
export function h2request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string | Buffer, timeoutMs = 5000): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    const t = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), timeoutMs);
    let res: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | null = null;
    let data = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (res = h));
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (d) => (data += d));
    req.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    req.on('close', () => {
      clearTimeout(t);
      if (res[':status'] === undefined) return reject(new Error(`stream closed without a response (rst ${req.rstCode})`));
      resolve({ status: Number(res[':status']), headers: res, trailers, body: data });
    });
    if (body !== undefined) req.end(body);
  });
}

export interface H2Upstream {
  port: number;
  /** Sessions (connections) the server accepted so far. */
  sessions: number;
  /** Most streams open at once on any one session. */
  maxConcurrent: number;
  close(): Promise<void>;
}

export type H2Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: string) => void;

/** A cleartext HTTP/2 (h2c) server; the default handler echoes the request as JSON. */
export async function startH2Upstream(handler?: H2Handler, settings: http2.Settings = {}): Promise<H2Upstream> {
  const server = http2.createServer({ settings });
  const state = { sessions: 0, maxConcurrent: 0 };
  const open = new Map<http2.Http2Session, number>();
  server.on('session', (s) => {
    state.sessions++;
    open.set(s, 0);
    s.on('close', () => open.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const s = stream.session!;
    const n = (open.get(s) ?? 0) + 1;
    open.set(s, n);
    state.maxConcurrent = Math.max(state.maxConcurrent, n);
    stream.on('close', () => open.set(s, (open.get(s) ?? 1) - 1));
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => (body += d));
    stream.on('end', () => {
      if (handler !== undefined) return handler(stream, headers, body);
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      const h: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(headers)) h[k] = v;
      stream.end(JSON.stringify({ headers: h, body }));
    });
    stream.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get sessions() {
      return state.sessions;
    },
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    close: () => new Promise<void>((r) => {
      for (const s of open.keys()) s.destroy();
      server.close(() => r());
    }),
  };
}

export interface Pki {
  dir: string;
  /** Paths of <name>.pem / <name>.key. */
  cert(name: string): string;
  key(name: string): string;
  ca: string;
}

/**
 * A test CA and leaf certificates signed by it, made with openssl. `leaves`: name → subjectAltName
 * (e.g. 'DNS:localhost,IP:127.0.0.1'). A leaf named with prefix `self-` is self-signed instead.
 */
export async function makePki(leaves: Record<string, string>): Promise<Pki> {
  const dir = mkdtempSync(path.join(tmpdir(), 'orion-pki-'));
  const f = (n: string) => path.join(dir, n);
  const ossl = async (args: string[]) => {
    const r = await run('openssl', args, 20000);
    if (r.code !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.out}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await ossl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=orion-test-ca']);
  for (const [name, san] of Object.entries(leaves)) {
    if (name.startsWith('self-')) {
      await ossl(['req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-days', '2', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`]);
      continue;
    }
    await ossl(['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`]);
    writeFileSync(f(`${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n`);
    await ossl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`)]);
  }
  return { dir, ca: f('ca.pem'), cert: (n) => f(`${n}.pem`), key: (n) => f(`${n}.key`) };
}

/** An HCM filter config (typed_config body) routing with `virtualHosts`. */
export function hcm(virtualHosts: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      stat_prefix: 'ingress_http',
      route_config: { name: 'local_route', virtual_hosts: virtualHosts },
      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      ...extra,
    },
  };
}

export function listener(name: string, port: number, filterChains: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, address: { socket_address: { address: '127.0.0.1', port_value: port } }, filter_chains: filterChains, ...extra };
}

/** envoy.extensions.upstreams.http.v3.HttpProtocolOptions with explicit HTTP/2. */
export function explicitHttp2(http2Options: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: http2Options },
      },
    },
  };
}

export function downstreamTls(common: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', common_tls_context: common, ...extra },
  };
}

export function upstreamTls(common: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', common_tls_context: common, ...extra },
  };
}

export function certFiles(pki: Pki, name: string): Record<string, unknown> {
  return { certificate_chain: { filename: pki.cert(name) }, private_key: { filename: pki.key(name) } };
}

/** Writes `text` to a new temp file (config fragments, secrets). */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'orion-test-'));
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A connected HTTP/2 client session; errors after the connect (e.g. the proxy stopping) are ignored. */
export function h2connect(authority: string, opts: http2.SecureClientSessionOptions = {}): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(authority, opts);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}
