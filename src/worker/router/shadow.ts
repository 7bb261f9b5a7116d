// request_mirror_policies: a copy of the complete request goes to each mirror cluster with
// `-shadow` appended to the host; the reply is read and dropped and never delays the real one.
import type { ActiveStream } from '../http/active_stream.ts';
import type { ResponseHead } from '../http/http1/parser.ts';
import type { UpstreamStream } from '../upstream/http1_client.ts';
import type { UpstreamConnection } from '../upstream/upstream_connection.ts';
import { buildRequestHead } from './upstream_head.ts';

class ShadowRequest implements UpstreamStream {
  readonly headString: string;
  readonly isHeadRequest: boolean;
  private readonly body: Buffer[];

  constructor(head: string, isHead: boolean, body: Buffer[]) {
    this.headString = head;
    this.isHeadRequest = isHead;
    this.body = body;
  }

  onPoolReady(conn: UpstreamConnection): void {
    conn.write(this.headString);
    for (const b of this.body) conn.write(b);
    conn.requestEnded = true;
  }

  onPoolFailure(): void {}
  onResponseHead(_r: ResponseHead, _c: Buffer, _s: number, _e: number, _complete: boolean): void {}
  onResponseData(): void {}
  onResponseEnd(): void {}
  onReset(): void {}
  onUpstreamDrain(): void {}
}

/** Sends the shadows of a complete request (its body is in stream.bodyCopy). */
export function startShadows(stream: ActiveStream): void {
  const a = stream.route!.action;
  if (a.kind !== 'route' || stream.bodyCopy === null) return;
  for (const m of a.mirrorPolicies) {
    if (m.fraction < 1 && Math.random() >= m.fraction) continue;
    const cluster = stream.hcm.clusters.get(m.cluster);
    const host = cluster?.chooseHost(null) ?? null;
    if (host === null) continue;
    cluster!.stats.upstream_rq_total.value++;
    const head = buildRequestHead(stream, host, '-shadow');
    host.connPool(0, stream).newStream(new ShadowRequest(head, stream.head.method === 'HEAD', stream.bodyCopy));
  }
}
