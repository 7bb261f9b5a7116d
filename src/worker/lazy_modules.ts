// node:http2 and node:tls add ~15 MB to a worker's RSS once loaded, and most listeners never
// need them: they load on first use (a TLS connection, an HTTP/2 or TLS upstream). Downstream
// HTTP/2 has its own codec (http/http2/) and does not load node:http2.
import { createRequire } from 'node:module';
import type Http2 from 'node:http2';
import type Tls from 'node:tls';

const require = createRequire(import.meta.url);
let http2: typeof Http2 | null = null;
let tls: typeof Tls | null = null;

export function http2Module(): typeof Http2 {
  return (http2 ??= require('node:http2') as typeof Http2);
}

export function tlsModule(): typeof Tls {
  return (tls ??= require('node:tls') as typeof Tls);
}

/** The HTTP/2 codes we name (RFC 9113 §7, frame flags §6.1), without loading node:http2. */
export const H2 = {
  NGHTTP2_NO_ERROR: 0,
  NGHTTP2_PROTOCOL_ERROR: 1,
  NGHTTP2_INTERNAL_ERROR: 2,
  NGHTTP2_REFUSED_STREAM: 7,
  NGHTTP2_CANCEL: 8,
  NGHTTP2_CONNECT_ERROR: 10,
  NGHTTP2_FLAG_END_STREAM: 1,
  HTTP2_HEADER_STATUS: ':status',
} as const;
