// gRPC health check (grpc.health.v1.Health/Check over HTTP/2): passes when the call ends with
// grpc-status 0 and the response says SERVING. The HTTP/2 session is kept between probes
// (reuse_connection). Messages are encoded by hand: the request has one string field.
import http2 from 'node:http2';
import type { GrpcHealthCheckSnap } from '../../shared/snapshot.ts';
import { ProbeResult, type ProbeResultValue, type Prober, type ProbeTarget } from './prober.ts';
import { ProbeSession } from './h2_session.ts';

const SERVING = 1;

export class GrpcProber implements Prober {
  private readonly cfg: GrpcHealthCheckSnap;
  private readonly target: ProbeTarget;
  private readonly body: Buffer;
  private readonly h2: ProbeSession;
  private abort: (() => void) | null = null;

  constructor(cfg: GrpcHealthCheckSnap, target: ProbeTarget) {
    this.cfg = cfg;
    this.target = target;
    this.h2 = new ProbeSession(target);
    this.body = grpcFrame(healthCheckRequest(cfg.serviceName));
  }

  probe(done: (r: ProbeResultValue) => void): void {
    let finished = false;
    const finish = (r: ProbeResultValue) => {
      if (finished) return;
      finished = true;
      this.abort = null;
      if (!this.target.reuseConnection || r === ProbeResult.NETWORK) this.h2.drop();
      done(r);
    };
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': '/grpc.health.v1.Health/Check',
      ':authority': this.cfg.authority || this.target.clusterName,
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    for (const m of this.cfg.initialMetadata) headers[m.name] = m.value;
    let req: http2.ClientHttp2Stream;
    try {
      req = this.h2.get().request(headers);
    } catch {
      return finish(ProbeResult.NETWORK);
    }
    let status: string | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      if (h[':status'] !== 200) return finish(ProbeResult.FAIL);
      status = h['grpc-status'] as string | undefined; // trailers-only response
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('trailers', (t) => {
      status = t['grpc-status'] as string | undefined;
    });
    req.on('end', () => {
      if (status !== '0') return finish(ProbeResult.FAIL);
      finish(servingStatus(Buffer.concat(chunks)) === SERVING ? ProbeResult.OK : ProbeResult.FAIL);
    });
    req.on('error', () => finish(ProbeResult.NETWORK));
    req.on('close', () => finish(ProbeResult.NETWORK));
    req.end(this.body);
    this.abort = () => req.close(http2.constants.NGHTTP2_CANCEL);
  }

  cancel(): void {
    this.abort?.();
    this.abort = null;
    this.h2.drop();
  }

  close(): void {
    this.cancel();
  }
}

/** HealthCheckRequest { string service = 1; } */
function healthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const s = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function grpcFrame(msg: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** HealthCheckResponse { ServingStatus status = 1; } from the first length-prefixed message. */
function servingStatus(frames: Buffer): number {
  if (frames.length < 5 || frames[0] !== 0) return -1;
  const len = frames.readUInt32BE(1);
  const msg = frames.subarray(5, 5 + len);
  let i = 0;
  while (i < msg.length) {
    const tag = msg[i++];
    if (tag === 0x08) {
      let v = 0;
      let shift = 0;
      while (i < msg.length) {
        const b = msg[i++];
        v |= (b & 0x7f) << shift;
        if ((b & 0x80) === 0) return v;
        shift += 7;
      }
      return -1;
    }
    return -1; // an unknown field before status: not something Health/Check sends
  }
  return 0; // status absent = UNKNOWN (0)
}
