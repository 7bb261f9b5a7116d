// TCP health check (Envoy's tcp_health_check): connect, send the `send` payload, and pass once
// every `receive` payload has appeared in the reply, in order. With no payloads, a completed
// connect passes. Each probe uses a fresh connection.
import net from 'node:net';
import type { TcpHealthCheckSnap } from '../../shared/snapshot.ts';
import { ProbeResult, type ProbeResultValue, type Prober, type ProbeTarget } from './prober.ts';

export class TcpProber implements Prober {
  private readonly cfg: TcpHealthCheckSnap;
  private readonly target: ProbeTarget;
  private socket: net.Socket | null = null;

  constructor(cfg: TcpHealthCheckSnap, target: ProbeTarget) {
    this.cfg = cfg;
    this.target = target;
  }

  probe(done: (r: ProbeResultValue) => void): void {
    let finished = false;
    let buf = Buffer.alloc(0);
    const s = net.connect({ host: this.target.address, port: this.target.port });
    this.socket = s;
    const finish = (r: ProbeResultValue) => {
      if (finished) return;
      finished = true;
      this.socket = null;
      s.destroy();
      done(r);
    };
    s.on('connect', () => {
      if (this.cfg.send !== null) s.write(this.cfg.send);
      if (this.cfg.receive.length === 0) finish(ProbeResult.OK);
    });
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (matchesInOrder(buf, this.cfg.receive)) finish(ProbeResult.OK);
    });
    s.on('error', () => finish(ProbeResult.NETWORK));
    // The peer closed before sending what we expect: the host answers, but wrongly.
    s.on('close', () => finish(ProbeResult.FAIL));
  }

  cancel(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  close(): void {
    this.cancel();
  }
}

function matchesInOrder(buf: Buffer, parts: Uint8Array[]): boolean {
  let from = 0;
  for (const p of parts) {
    const i = buf.indexOf(p, from);
    if (i < 0) return false;
    from = i + p.length;
  }
  return true;
}
