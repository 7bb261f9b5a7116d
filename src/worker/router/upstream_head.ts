// The request head the router sends upstream: request line, host first, then the request's
// end-to-end headers (hop-by-hop ones dropped), then the framing of the body. Built once per
// request as one string.
import type { ActiveStream } from '../http/active_stream.ts';
import type { Host } from '../upstream/host.ts';
import { isHopByHopRequest } from '../http/hop_by_hop.ts';

export function buildRequestHead(stream: ActiveStream, host: Host, authoritySuffix = ''): string {
  const head = stream.head;
  const route = stream.route;
  let authority = stream.upstreamAuthority;
  if (route !== null && route.autoHostRewrite && host.hostname !== '') authority = host.hostname;
  if (authoritySuffix !== '') authority = shadowAuthority(authority, authoritySuffix);
  let s = head.method + ' ' + stream.upstreamPath + ' HTTP/1.1\r\nhost: ' + authority + '\r\n';
  const h = head.headers;
  const tokens = head.connTokens;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i];
    if (isHopByHopRequest(n) || (tokens !== null && tokens.includes(n))) continue;
    s += n + ': ' + h[i + 1] + '\r\n';
  }
  if (stream.upgrade !== '') s += 'connection: upgrade\r\nupgrade: ' + stream.upgrade + '\r\n';
  if (head.chunked) s += 'transfer-encoding: chunked\r\n';
  else if (head.contentLength >= 0) s += 'content-length: ' + head.contentLength + '\r\n';
  return s + '\r\n';
}

/** Envoy's shadow host: `-shadow` after the host name, before any port. */
function shadowAuthority(a: string, suffix: string): string {
  const close = a.lastIndexOf(']');
  const colon = a.lastIndexOf(':');
  return colon > close ? a.slice(0, colon) + suffix + a.slice(colon) : a + suffix;
}
