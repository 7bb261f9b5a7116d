// The Kmesh TLV listener filter on raw sockets: the service-address record is consumed and becomes
// the original destination — it selects the filter chain and is the host of an ORIGINAL_DST
// cluster — and every malformed record stream closes the connection unanswered and is counted.
// The config is given as a TypedStruct on one listener and directly on another.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { bootstrapJson, direct, exchange, hcm, listenerAt, startEcho, tcpProxy, waitStats, type TcpServer } from './lib/l4.ts';

const KMESH = 'type.googleapis.com/envoy.extensions.filters.listener.kmesh_tlv.v3.KmeshTlv';
const REQ = 'GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n';

let echo: TcpServer;
let proxy: Proxy;
let port: number;
let directPort: number;

function record(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt32BE(value.length, 1);
  return Buffer.concat([h, value]);
}

function service4(ip: string, p: number): Buffer {
  const v = Buffer.alloc(6);
  ip.split('.').forEach((x, i) => (v[i] = Number(x)));
  v.writeUInt16BE(p, 4);
  return record(0x01, v);
}

function service6(hex: string, p: number): Buffer {
  const v = Buffer.alloc(18);
  Buffer.from(hex, 'hex').copy(v);
  v.writeUInt16BE(p, 16);
  return record(0x01, v);
}

const END = record(0xfe, Buffer.alloc(0));

before(async () => {
  echo = await startEcho();
  [port, directPort] = [await freePort(), await freePort()];
  const adminPort = await freePort();
  const chains = [
    // The original destination picks the chain: the echo server's port → tcp_proxy to ORIGINAL_DST.
    { filter_chain_match: { destination_port: echo.port }, filters: [tcpProxy('kmesh_odst', 'original_dst')] },
    { filter_chain_match: { prefix_ranges: [{ address_prefix: '2001:db8::', prefix_len: 32 }] }, filters: [hcm('kmesh_v6', [direct('v6-service')])] },
    { filters: [hcm('kmesh_other', [direct('other')])] },
  ];
  const listeners = [
    listenerAt('kmesh', port, chains, {
      listener_filters: [{ name: 'envoy.listener.kmesh_tlv', typed_config: { '@type': 'type.googleapis.com/udpa.type.v1.TypedStruct', type_url: KMESH } }],
    }),
    listenerAt('kmesh_direct', directPort, [{ filters: [hcm('kmesh_direct', [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'direct' } }, response_headers_to_add: [{ header: { key: 'x-dst', value: '%DOWNSTREAM_LOCAL_ADDRESS%' } }] }])] }], {
      listener_filters: [{ name: 'kmesh', typed_config: { '@type': KMESH } }],
    }),
  ];
  const odst = { name: 'original_dst', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' };
  proxy = await startProxy(bootstrapJson(adminPort, listeners, [odst]), { adminPort, args: ['--drain-time-s', '1'] });
});

after(async () => {
  await proxy?.stop();
  await echo?.close();
});

test('the service record is consumed and is the ORIGINAL_DST host; bytes after the end record pass exactly', async () => {
  const payload = Buffer.from('\x00\x01binary after the TLVs\xfe\xff', 'latin1');
  const r = await exchange(port, [Buffer.concat([service4('127.0.0.1', echo.port), END, payload])], { end: true });
  assert.ok(r.closed);
  assert.deepEqual(r.data, payload);
});

test('records split across reads, and an IPv6 service address selecting a prefix_ranges chain', async () => {
  const all = Buffer.concat([service4('127.0.0.1', echo.port), END, Buffer.from('split')]);
  const r = await exchange(port, [all.subarray(0, 3), all.subarray(3, 9), all.subarray(9)], { end: true, gapMs: 30 });
  assert.equal(r.data.toString(), 'split');
  const v6 = await exchange(port, [Buffer.concat([service6('20010db8000000000000000000000001', 443), END, Buffer.from(REQ)])]);
  assert.match(v6.data.toString(), /\r\n\r\nv6-service$/);
  // No service record at all: the socket's own destination stands.
  const none = await exchange(port, [Buffer.concat([END, Buffer.from(REQ)])]);
  assert.match(none.data.toString(), /\r\n\r\nother$/);
});

test('the filter configured without TypedStruct restores the destination too', async () => {
  const r = await exchange(directPort, [Buffer.concat([service4('10.1.2.3', 8080), END, Buffer.from(REQ)])]);
  const s = r.data.toString();
  assert.match(s, /^HTTP\/1\.1 200 /);
  assert.match(s, /\r\nx-dst: 10\.1\.2\.3:8080\r\n/);
});

test('every malformed record stream closes the connection without a byte and is counted', async () => {
  const before = (await waitStats(proxy, () => true))['kmesh_tlv.error'] ?? 0;
  const bad6 = Buffer.alloc(7);
  const many = Buffer.concat(Array.from({ length: 24 }, () => service4('127.0.0.1', 80))); // 264 bytes of valid records
  const cases: [string, Buffer][] = [
    ['unknown record type', Buffer.concat([record(0x02, Buffer.alloc(6)), END, Buffer.from(REQ)])],
    ['extension type 0xff', Buffer.concat([record(0xff, Buffer.alloc(0)), END, Buffer.from(REQ)])],
    ['service length 7', Buffer.concat([record(0x01, bad6), END, Buffer.from(REQ)])],
    ['service length 0', Buffer.concat([record(0x01, Buffer.alloc(0)), END, Buffer.from(REQ)])],
    ['end record with a length', Buffer.concat([service4('127.0.0.1', 80), record(0xfe, Buffer.from([0])), Buffer.from(REQ)])],
    ['more than 256 bytes before the end record', Buffer.concat([many, END, Buffer.from(REQ)])],
    ['plain HTTP without records', Buffer.from(REQ)],
  ];
  for (const [what, bytes] of cases) {
    const r = await exchange(port, [bytes], { ms: 2000 });
    assert.equal(r.data.length, 0, `${what}: got ${JSON.stringify(r.data.toString())}`);
    assert.ok(r.closed, `${what}: left open`);
  }
  // Records cut short by the client's FIN.
  const cut = await exchange(port, [service4('127.0.0.1', 80).subarray(0, 8)], { end: true });
  assert.equal(cut.data.length, 0);
  assert.ok(cut.closed);
  const s = await waitStats(proxy, (x) => (x['kmesh_tlv.error'] ?? 0) - before >= 8);
  assert.equal(s['kmesh_tlv.error'] - before, 8);
  assert.ok(s['kmesh_tlv.found'] >= 4);
});
