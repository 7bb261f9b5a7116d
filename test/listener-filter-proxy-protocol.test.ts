// The PROXY protocol listener filter on raw sockets: v1 and v2 headers written byte for byte
// become the downstream addresses (x-forwarded-for, %DOWNSTREAM_*% and filter-chain matching),
// v2 TLVs become dynamic metadata, and each malformed header closes the connection unanswered
// and is counted. allow_requests_without_proxy_protocol and disallowed_versions on a second listener.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrapJson, cluster, direct, exchange, hcm, listenerAt, waitStats } from './lib/l4.ts';

const PP = 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol';
const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const REQ = 'GET /pp HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n';

let backend: Upstream;
let proxy: Proxy;
let port: number;
let allowPort: number;

function v2(verCmd: number, fam: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  SIG.copy(h);
  h[12] = verCmd;
  h[13] = fam;
  h.writeUInt16BE(body.length, 14);
  return Buffer.concat([h, body]);
}

function ipv4Block(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  src.split('.').forEach((x, i) => (b[i] = Number(x)));
  dst.split('.').forEach((x, i) => (b[4 + i] = Number(x)));
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

function ipv6Block(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(36);
  Buffer.from(src, 'hex').copy(b, 0);
  Buffer.from(dst, 'hex').copy(b, 16);
  b.writeUInt16BE(sport, 32);
  b.writeUInt16BE(dport, 34);
  return b;
}

function tlv(type: number, value: string): Buffer {
  const v = Buffer.from(value);
  const h = Buffer.alloc(3);
  h[0] = type;
  h.writeUInt16BE(v.length, 1);
  return Buffer.concat([h, v]);
}

/** The echoed request headers of a response from the backend (via the HCM chain). */
function echoed(raw: Buffer): Record<string, string> {
  const s = raw.toString('latin1');
  assert.match(s, /^HTTP\/1\.1 200 /, s);
  return (JSON.parse(s.slice(s.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> }).headers;
}

before(async () => {
  backend = await startHttpUpstream('backend');
  [port, allowPort] = [await freePort(), await freePort()];
  const adminPort = await freePort();
  const addHeaders = [
    { header: { key: 'x-src', value: '%DOWNSTREAM_REMOTE_ADDRESS%' } },
    { header: { key: 'x-dst', value: '%DOWNSTREAM_LOCAL_ADDRESS%' } },
    { header: { key: 'x-vpc', value: '%DYNAMIC_METADATA(pp:vpc)%' } },
  ];
  const toBackend = hcm('pp', [{ match: { prefix: '/' }, route: { cluster: 'backend' }, request_headers_to_add: addHeaders }], { use_remote_address: true });
  const listeners = [
    listenerAt('pp', port, [
      { filters: [toBackend] },
      { filter_chain_match: { destination_port: 2222 }, filters: [hcm('pp2222', [direct('chain-2222')])] },
    ], {
      listener_filters: [{ name: 'envoy.filters.listener.proxy_protocol', typed_config: { '@type': PP, rules: [{ tlv_type: 0xea, on_tlv_present: { metadata_namespace: 'pp', key: 'vpc' } }] } }],
    }),
    listenerAt('pp_allow', allowPort, [{ filters: [toBackend] }], {
      listener_filters: [{ name: 'pp', typed_config: { '@type': PP, stat_prefix: 'allow', allow_requests_without_proxy_protocol: true, disallowed_versions: ['V1'] } }],
    }),
  ];
  proxy = await startProxy(bootstrapJson(adminPort, listeners, [cluster('backend', [backend.port])]), { adminPort, args: ['--drain-time-s', '1'] });
});

after(async () => {
  await proxy?.stop();
  await backend?.close();
});

test('v1 TCP4 and TCP6 headers become the downstream addresses; UNKNOWN keeps the real ones', async () => {
  const h4 = echoed((await exchange(port, [`PROXY TCP4 192.0.2.10 198.51.100.7 40001 8443\r\n${REQ}`])).data);
  assert.equal(h4['x-forwarded-for'], '192.0.2.10');
  assert.equal(h4['x-src'], '192.0.2.10:40001');
  assert.equal(h4['x-dst'], '198.51.100.7:8443');
  const h6 = echoed((await exchange(port, [`PROXY TCP6 2001:db8::1 2001:db8::2 1234 5678\r\n${REQ}`])).data);
  assert.equal(h6['x-src'], '[2001:db8::1]:1234');
  assert.equal(h6['x-dst'], '[2001:db8::2]:5678');
  const hu = echoed((await exchange(port, [`PROXY UNKNOWN whatever\r\n${REQ}`])).data);
  assert.equal(hu['x-forwarded-for'], '127.0.0.1');
  assert.match(hu['x-dst'], new RegExp(`^127\\.0\\.0\\.1:${port}$`));
});

test('a header split across reads, and the restored destination port picks the filter chain', async () => {
  const split = echoed((await exchange(port, ['PROXY TCP4 10.0.0', `.1 10.0.0.2 1000 2000\r\n${REQ}`], { gapMs: 50 })).data);
  assert.equal(split['x-src'], '10.0.0.1:1000');
  const chain = await exchange(port, [`PROXY TCP4 10.0.0.1 10.0.0.2 1000 2222\r\n${REQ}`]);
  assert.match(chain.data.toString(), /\r\n\r\nchain-2222$/);
});

test('v2 PROXY TCP4/TCP6 with TLVs: the rule TLV becomes dynamic metadata; LOCAL keeps the real addresses', async () => {
  const tlvs = Buffer.concat([tlv(0x01, 'h2'), tlv(0xea, 'vpc-123'), tlv(0x04, '')]);
  const h4 = echoed((await exchange(port, [Buffer.concat([v2(0x21, 0x11, Buffer.concat([ipv4Block('203.0.113.5', '203.0.113.9', 5555, 443), tlvs])), Buffer.from(REQ)])])).data);
  assert.equal(h4['x-forwarded-for'], '203.0.113.5');
  assert.equal(h4['x-dst'], '203.0.113.9:443');
  assert.equal(h4['x-vpc'], 'vpc-123');
  const src6 = '20010db8000000000000000000000011';
  const dst6 = '20010db8000000000000000000000022';
  const h6 = echoed((await exchange(port, [Buffer.concat([v2(0x21, 0x21, ipv6Block(src6, dst6, 7, 8)), Buffer.from(REQ)])])).data);
  assert.equal(h6['x-src'], '[2001:db8::11]:7');
  assert.equal(h6['x-dst'], '[2001:db8::22]:8');
  const local = echoed((await exchange(port, [Buffer.concat([v2(0x20, 0x00, Buffer.alloc(0)), Buffer.from(REQ)])])).data);
  assert.equal(local['x-forwarded-for'], '127.0.0.1');
  // UDP over IPv4 still carries addresses; the header is consumed either way.
  const udp = echoed((await exchange(port, [Buffer.concat([v2(0x21, 0x12, ipv4Block('192.0.2.1', '192.0.2.2', 1, 2)), Buffer.from(REQ)])])).data);
  assert.equal(udp['x-src'], '192.0.2.1:1');
});

test('every malformed header closes the connection without a byte and is counted', async () => {
  const addr = ipv4Block('1.1.1.1', '2.2.2.2', 1, 2);
  const cases: [string, Buffer | string][] = [
    ['v1 unknown protocol', `PROXY TCP5 1.1.1.1 2.2.2.2 1 2\r\n${REQ}`],
    ['v1 address of the wrong family', `PROXY TCP4 2001:db8::1 2.2.2.2 1 2\r\n${REQ}`],
    ['v1 port out of range', `PROXY TCP4 1.1.1.1 2.2.2.2 1 70000\r\n${REQ}`],
    ['v1 missing field', `PROXY TCP4 1.1.1.1 2.2.2.2 1\r\n${REQ}`],
    ['v1 no CRLF within 107 bytes', `PROXY TCP4 ${'1'.repeat(120)}`],
    ['v2 version 1 nibble', Buffer.concat([v2(0x11, 0x11, addr), Buffer.from(REQ)])],
    ['v2 command 2', Buffer.concat([v2(0x22, 0x11, addr), Buffer.from(REQ)])],
    ['v2 unknown family', Buffer.concat([v2(0x21, 0x41, addr), Buffer.from(REQ)])],
    ['v2 address block too short', Buffer.concat([v2(0x21, 0x11, Buffer.alloc(6)), Buffer.from(REQ)])],
    ['v2 truncated TLV', Buffer.concat([v2(0x21, 0x11, Buffer.concat([addr, Buffer.from([0xea, 0x00, 0x09, 0x41])])), Buffer.from(REQ)])],
    ['no PROXY header at all', REQ],
  ];
  for (const [what, bytes] of cases) {
    const r = await exchange(port, [bytes], { ms: 2000 });
    assert.equal(r.data.length, 0, `${what}: got ${JSON.stringify(r.data.toString())}`);
    assert.ok(r.closed, `${what}: connection left open`);
  }
  // A header cut short by the client's FIN is an error too.
  const cut = await exchange(port, [SIG.subarray(0, 8)], { end: true });
  assert.equal(cut.data.length, 0);
  const s = await waitStats(proxy, (x) => (x['proxy_proto.versions.v1.error'] ?? 0) >= 5 && (x['proxy_proto.versions.v2.error'] ?? 0) >= 6);
  assert.equal(s['proxy_proto.versions.v1.error'], 5);
  assert.equal(s['proxy_proto.versions.v2.error'], 6);
  assert.equal(s['proxy_proto.not_found_disallowed'], 1);
  assert.ok(s['listener.127.0.0.1_' + port + '.downstream_listener_filter_error'] >= 11);
  assert.equal(backend.received.filter((r) => r.url === '/pp').length >= 1, true);
});

test('allow_requests_without_proxy_protocol serves plain requests; a disallowed version is refused', async () => {
  const plain = echoed((await exchange(allowPort, [REQ])).data);
  assert.equal(plain['x-forwarded-for'], '127.0.0.1');
  const withV2 = echoed((await exchange(allowPort, [Buffer.concat([v2(0x21, 0x11, ipv4Block('192.0.2.77', '192.0.2.78', 9, 10)), Buffer.from(REQ)])])).data);
  assert.equal(withV2['x-forwarded-for'], '192.0.2.77');
  const v1 = await exchange(allowPort, [`PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\n${REQ}`]);
  assert.equal(v1.data.length, 0);
  assert.ok(v1.closed);
  const s = await waitStats(proxy, (x) => (x['proxy_proto.allow.versions.v1.disallowed'] ?? 0) >= 1);
  assert.equal(s['proxy_proto.allow.versions.v1.disallowed'], 1);
  assert.equal(s['proxy_proto.allow.not_found_allowed'], 1);
  assert.equal(s['proxy_proto.allow.versions.v2.found'], 1);
});
