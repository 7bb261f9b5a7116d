// HTTP health check (Envoy's http_health_check): a request to `path` with `host` (default: the
// cluster name) and the configured headers; an expected status passes, a retriable one counts
// towards the threshold, any other marks the host unhealthy at once. x-envoy-degraded and
// x-envoy-immediate-health-check-fail are honoured. HTTP/2 when codec_client_type is HTTP2.
import http from 'node:http';
import http2 from 'node:http2';
import type { HttpHealthCheckSnap } from '../../shared/snapshot.ts';
import { ProbeResult, type ProbeResultValue, type Prober, type ProbeTarget } from './prober.ts';
import { ProbeSession } from './h2_session.ts';

/** Envoy's health checker user agent; backends often recognise it. */
const USER_AGENT = 'Envoy/HC';

export class HttpProber implements Prober {
  private readonly cfg: HttpHealthCheckSnap;
  private readonly target: ProbeTarget;
  private readonly headers: Record<string, string>;
  private agent: http.Agent | null = null;
  private readonly h2: ProbeSession;
  private abort: (() => void) | null = null;

  constructor(cfg: HttpHealthCheckSnap, target: ProbeTarget) {
    this.cfg = cfg;
    this.target = target;
    this.h2 = new ProbeSession(target);
    const h: Record<string, string> = { 'user-agent': USER_AGENT };
    for (const a of cfg.headersToAdd) {
      if (a.action === 'append_if_exists_or_add' && h[a.name] !== undefined) h[a.name] += ',' + a.value;
      else if (a.action !== 'add_if_absent' || h[a.name] === undefined) h[a.name] = a.value;
    }
    for (const n of cfg.headersToRemove) delete h[n];
    this.headers = h;
  }

  probe(done: (r: ProbeResultValue) => void): void {
    if (this.cfg.http2) this.probeH2(done);
    else this.probeH1(done);
  }

  private classify(status: number, header: (n: string) => unknown): ProbeResultValue {
    if (header('x-envoy-immediate-health-check-fail') !== undefined) return ProbeResult.EXCLUDE;
    if (inRanges(status, this.cfg.expectedStatuses)) return header('x-envoy-degraded') !== undefined ? ProbeResult.DEGRADED : ProbeResult.OK;
    return inRanges(status, this.cfg.retriableStatuses) ? ProbeResult.FAIL : ProbeResult.IMMEDIATE;
  }

  private probeH1(done: (r: ProbeResultValue) => void): void {
    const reuse = this.target.reuseConnection;
    this.agent ??= new http.Agent({ keepAlive: reuse, maxSockets: 1 });
    let finished = false;
    const finish = (r: ProbeResultValue) => {
      if (finished) return;
      finished = true;
      this.abort = null;
      done(r);
    };
    const req = http.request({
      host: this.target.address,
      port: this.target.port,
      method: this.cfg.method,
      path: this.cfg.path,
      agent: this.agent,
      headers: { ...this.headers, host: this.cfg.host || this.target.clusterName, ...(reuse ? {} : { connection: 'close' }) },
    }, (res) => {
      const r = this.classify(res.statusCode ?? 0, (n) => res.headers[n]);
      res.resume();
      res.on('end', () => finish(r));
      res.on('error', () => finish(ProbeResult.NETWORK));
    });
    req.on('error', () => finish(ProbeResult.NETWORK));
    req.end();
    this.abort = () => req.destroy();
  }

  private probeH2(done: (r: ProbeResultValue) => void): void {
    let finished = false;
    const finish = (r: ProbeResultValue) => {
      if (finished) return;
      finished = true;
      this.abort = null;
      if (!this.target.reuseConnection) this.h2.drop();
      done(r);
    };
    const s = this.h2.get();
    let req: http2.ClientHttp2Stream;
    try {
      req = s.request({
        ':method': this.cfg.method,
        ':path': this.cfg.path,
        ':authority': this.cfg.host || this.target.clusterName,
        ...this.headers,
      }, { endStream: true });
    } catch {
      this.h2.drop();
      return finish(ProbeResult.NETWORK);
    }
    req.on('response', (h) => {
      const r = this.classify(Number(h[':status']), (n) => h[n]);
      req.resume();
      req.on('end', () => finish(r));
    });
    req.on('error', () => finish(ProbeResult.NETWORK));
    req.on('close', () => finish(ProbeResult.NETWORK));
    this.abort = () => req.close(http2.constants.NGHTTP2_CANCEL);
  }

  cancel(): void {
    this.abort?.();
    this.abort = null;
    // A timed-out connection is not trusted for the next probe.
    this.agent?.destroy();
    this.agent = null;
    this.h2.drop();
  }

  close(): void {
    this.cancel();
  }
}

function inRanges(s: number, ranges: [number, number][]): boolean {
  for (const [a, b] of ranges) if (s >= a && s < b) return true;
  return false;
}
