// filter_chain_match with Envoy's ordering. PROXY protocol headers let one test set any source
// and destination: destination port, then destination IP (most specific prefix), then the rest
// down to source IP and port; the most specific match at each level wins and there is no
// backtracking (a connection failing a later level gets the default chain, not a broader chain).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startProxy, type Proxy } from './lib/proxy.ts';
import { bootstrapJson, direct, exchange, hcm, listenerAt, waitStats } from './lib/l4.ts';

const PP = { name: 'pp', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol' } };

let proxy: Proxy;
let port: number;
let strictPort: number;

const cidr = (c: string) => {
  const [address_prefix, len] = c.split('/');
  return { address_prefix, prefix_len: Number(len) };
};

function chain(name: string, match: Record<string, unknown> | null): Record<string, unknown> {
  return { ...(match === null ? {} : { filter_chain_match: match }), filters: [hcm(name, [direct(name)])] };
}

/** The chain that answered a request carried behind `PROXY TCP4 src dst sport dport`. */
async function chainFor(src: string, dst: string, sport: number, dport: number, to = port): Promise<string> {
  const r = await exchange(to, [`PROXY TCP4 ${src} ${dst} ${sport} ${dport}\r\nGET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`]);
  const s = r.data.toString();
  return s === '' ? 'closed' : s.slice(s.indexOf('\r\n\r\n') + 4);
}

before(async () => {
  [port, strictPort] = [await freePort(), await freePort()];
  const adminPort = await freePort();
  const chains = [
    chain('a', { destination_port: 80, prefix_ranges: [cidr('10.0.0.0/8')] }),
    chain('b', { destination_port: 80, prefix_ranges: [cidr('10.1.0.0/16')] }),
    chain('c', { destination_port: 80 }),
    chain('d', { destination_port: 80, prefix_ranges: [cidr('10.1.0.0/16')], source_prefix_ranges: [cidr('192.168.0.0/16')] }),
    chain('e', null),
    chain('g', { destination_port: 80, prefix_ranges: [cidr('10.9.0.0/16')], source_ports: [5555] }),
    chain('h-local', { destination_port: 443, source_type: 'SAME_IP_OR_LOOPBACK' }),
    chain('i-external', { destination_port: 443, source_type: 'EXTERNAL' }),
    chain('j', { destination_port: 8443, direct_source_prefix_ranges: [cidr('127.0.0.1/32')], source_prefix_ranges: [cidr('203.0.113.0/24')] }),
    chain('k', { destination_port: 8443 }),
  ];
  const listeners = [
    listenerAt('match', port, chains, { listener_filters: [PP], default_filter_chain: { filters: [hcm('dflt', [direct('default')])] } }),
    // Without a default chain a connection matching nothing is closed and counted.
    listenerAt('strict', strictPort, [chain('only-9000', { destination_port: 9000 })], { listener_filters: [PP] }),
  ];
  proxy = await startProxy(bootstrapJson(adminPort, listeners, []), { adminPort, args: ['--drain-time-s', '1'] });
});

after(async () => {
  await proxy?.stop();
});

test('destination port, then the most specific destination prefix, then source prefix', async () => {
  assert.equal(await chainFor('192.168.1.1', '10.1.2.3', 1000, 80), 'd');
  assert.equal(await chainFor('172.16.0.1', '10.1.2.3', 1000, 80), 'b');
  assert.equal(await chainFor('172.16.0.1', '10.2.0.1', 1000, 80), 'a');
  assert.equal(await chainFor('172.16.0.1', '11.0.0.1', 1000, 80), 'c');
  assert.equal(await chainFor('172.16.0.1', '11.0.0.1', 1000, 81), 'e');
});

test('no backtracking: failing a later level after a specific match gives the default chain', async () => {
  assert.equal(await chainFor('172.16.0.1', '10.9.0.1', 5555, 80), 'g');
  assert.equal(await chainFor('172.16.0.1', '10.9.0.1', 1111, 80), 'default');
  // direct_source_prefix_ranges (the real peer, 127.0.0.1) is more specific than none, so the
  // PROXY source outside 203.0.113.0/24 does not fall back to chain k.
  assert.equal(await chainFor('203.0.113.9', '10.0.0.1', 1, 8443), 'j');
  assert.equal(await chainFor('198.51.100.1', '10.0.0.1', 1, 8443), 'default');
});

test('source_type: loopback sources are local, others external', async () => {
  assert.equal(await chainFor('127.0.0.5', '192.0.2.1', 1, 443), 'h-local');
  assert.equal(await chainFor('8.8.8.8', '192.0.2.1', 1, 443), 'i-external');
});

test('no chain and no default: the connection is closed and counted as no_filter_chain_match', async () => {
  assert.equal(await chainFor('1.1.1.1', '2.2.2.2', 1, 9000, strictPort), 'only-9000');
  assert.equal(await chainFor('1.1.1.1', '2.2.2.2', 1, 9001, strictPort), 'closed');
  const s = await waitStats(proxy, (x) => (x[`listener.127.0.0.1_${strictPort}.no_filter_chain_match`] ?? 0) >= 1);
  assert.equal(s[`listener.127.0.0.1_${strictPort}.no_filter_chain_match`], 1);
});
