// gRPC over HTTP/2 as the connection manager sees it: which requests are gRPC, the status a local
// reply carries (Envoy answers a gRPC client with HTTP 200 and grpc-status, never a bare 5xx),
// and the grpc-timeout header.
import { ResponseFlag } from './local_reply.ts';

/** gRPC status codes used by local replies. */
export const GrpcStatus = {
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** application/grpc and application/grpc+<codec> (gRPC-Web is its own protocol). */
export function isGrpcContentType(ct: string | null | undefined): boolean {
  if (typeof ct !== 'string' || !ct.startsWith('application/grpc')) return false;
  const c = ct.charCodeAt(16);
  return Number.isNaN(c) || c === 43 /* + */ || c === 59 /* ; */;
}

/**
 * The grpc-status of a local reply: Envoy's HTTP → gRPC mapping, except that timeouts (route
 * timeout, grpc-timeout / max_stream_duration) are DEADLINE_EXCEEDED.
 */
export function grpcStatusFor(httpStatus: number, flag: string): number {
  if (flag === ResponseFlag.UPSTREAM_TIMEOUT || flag === ResponseFlag.DURATION_TIMEOUT) return GrpcStatus.DEADLINE_EXCEEDED;
  switch (httpStatus) {
    case 400:
      return GrpcStatus.INTERNAL;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

/** grpc-message: percent-encoding of everything outside printable ASCII, and of '%' (gRPC spec). */
export function grpcMessage(text: string): string {
  let out = '';
  const bytes = Buffer.from(text, 'utf8');
  for (const b of bytes) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  return out;
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** grpc-timeout ("TimeoutValue TimeoutUnit", at most 8 digits) in ms, rounded up; -1 when malformed. */
export function parseGrpcTimeout(v: string): number {
  const n = v.length - 1;
  if (n < 1 || n > 8) return -1;
  const unit = UNIT_MS[v[n]];
  if (unit === undefined) return -1;
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return Math.ceil(value * unit);
}
