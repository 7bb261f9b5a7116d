// Envoy's retry policy for one request: which outcomes are retriable (retry_on, retriable status
// codes and headers, gRPC statuses), how many retries remain, the back-off between attempts and
// the hosts already tried (previous_hosts predicate).
import type { RetryPolicySnap } from '../../shared/snapshot.ts';
import type { ResponseHead } from '../http/http1/parser.ts';
import { HeaderMatcher } from './header_matcher.ts';
import { getHeader } from './header_mutation.ts';
import type { Host } from '../upstream/host.ts';
import { ResetReason, type ResetReasonValue } from '../upstream/http1_client.ts';

const ON_5XX = 1;
const ON_GATEWAY_ERROR = 2;
const ON_RESET = 4;
const ON_CONNECT_FAILURE = 8;
const ON_RETRIABLE_4XX = 16;
const ON_REFUSED_STREAM = 32;
const ON_STATUS_CODES = 64;
const ON_HEADERS = 128;

const FLAGS: Record<string, number> = {
  '5xx': ON_5XX,
  'gateway-error': ON_GATEWAY_ERROR,
  reset: ON_RESET,
  'connect-failure': ON_CONNECT_FAILURE,
  'retriable-4xx': ON_RETRIABLE_4XX,
  'refused-stream': ON_REFUSED_STREAM,
  'retriable-status-codes': ON_STATUS_CODES,
  'retriable-headers': ON_HEADERS,
};

/** gRPC status codes retriable by name in retry_on. */
const GRPC: Record<string, number> = { cancelled: 1, 'deadline-exceeded': 4, 'resource-exhausted': 8, internal: 13, unavailable: 14 };

/** The outcome of an attempt that might be retried. */
export type AttemptFailure = ResetReasonValue | 'per_try_timeout';

export class RetryState {
  private readonly on: number;
  private readonly grpcCodes: number[];
  private readonly statusCodes: number[];
  private readonly headers: HeaderMatcher[];
  private readonly baseMs: number;
  private readonly maxMs: number;
  readonly previousHosts: boolean;
  readonly hostSelectionAttempts: number;
  remaining: number;
  attempts = 1;
  readonly tried: Host[] = [];

  constructor(p: RetryPolicySnap | null, headerRetryOn: string | null, headerMaxRetries: string | null) {
    const names = [...(p?.retryOn ?? []), ...(headerRetryOn === null ? [] : headerRetryOn.split(',').map((s) => s.trim()))];
    let on = 0;
    for (const n of names) on |= FLAGS[n] ?? 0;
    this.on = on;
    this.grpcCodes = names.filter((n) => n in GRPC).map((n) => GRPC[n]);
    this.statusCodes = p?.retriableStatusCodes ?? [];
    this.headers = (p?.retriableHeaders ?? []).map((h) => new HeaderMatcher(h));
    this.baseMs = p?.baseIntervalMs ?? 25;
    this.maxMs = p?.maxIntervalMs ?? this.baseMs * 10;
    this.previousHosts = p?.previousHosts ?? false;
    this.hostSelectionAttempts = p?.hostSelectionRetryMaxAttempts ?? 1;
    const headerMax = headerMaxRetries === null ? NaN : Number(headerMaxRetries);
    this.remaining = Number.isInteger(headerMax) && headerMax >= 0 ? headerMax : p?.numRetries ?? 1;
  }

  /** True when the policy covers anything at all. */
  get enabled(): boolean {
    return this.on !== 0 || this.grpcCodes.length > 0;
  }

  retriableResponse(res: ResponseHead): boolean {
    const s = res.status;
    if (this.on & ON_5XX && s >= 500) return true;
    if (this.on & ON_GATEWAY_ERROR && (s === 502 || s === 503 || s === 504)) return true;
    if (this.on & ON_RETRIABLE_4XX && s === 409) return true;
    if (this.on & ON_STATUS_CODES && this.statusCodes.includes(s)) return true;
    if (this.on & ON_HEADERS && this.headers.some((m) => m.matchesHeaders(res.headers))) return true;
    if (this.grpcCodes.length > 0) {
      const g = getHeader(res.headers, 'grpc-status');
      if (g !== null && this.grpcCodes.includes(Number(g))) return true;
    }
    return false;
  }

  retriableFailure(f: AttemptFailure): boolean {
    if (f === ResetReason.CONNECT_FAILURE || f === ResetReason.CONNECT_TIMEOUT) {
      return (this.on & (ON_5XX | ON_GATEWAY_ERROR | ON_RESET | ON_CONNECT_FAILURE)) !== 0;
    }
    if (f === 'per_try_timeout') return (this.on & (ON_5XX | ON_GATEWAY_ERROR | ON_RESET)) !== 0;
    if (f === ResetReason.OVERFLOW) return false;
    return (this.on & (ON_5XX | ON_GATEWAY_ERROR | ON_RESET)) !== 0;
  }

  /** Envoy's fully jittered exponential back-off: random in [0, min(max, base·(2^n − 1))]. */
  backoffMs(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * (2 ** this.attempts - 1));
    return Math.floor(Math.random() * ceiling);
  }
}
