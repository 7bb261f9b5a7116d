// SNI-based filter chain selection with TLS terminated per chain, checked with openssl s_client:
// the certificate served is the one of the chain whose server_names match (exact before wildcard,
// the default chain otherwise), and each chain routes to its own backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, freePort, type Proxy } from './lib/proxy.ts';
import { startHttpUpstream, type Upstream } from './lib/upstream.ts';
import { bootstrap, staticCluster, vhost } from './lib/config.ts';
import { certFiles, downstreamTls, hcm, listener, makePki, run, type Pki } from './lib/h2.ts';

let proxy: Proxy;
let pki: Pki;
let port: number;
const ups: Record<string, Upstream> = {};

before(async () => {
  pki = await makePki({ exact: 'DNS:api.example.test', wild: 'DNS:*.example.test', fallback: 'DNS:fallback.test' });
  for (const n of ['exact', 'wild', 'fallback']) ups[n] = await startHttpUpstream(n);
  port = await freePort();
  const adminPort = await freePort();
  const chain = (name: string, serverNames: string[] | null) => ({
    ...(serverNames === null ? {} : { filter_chain_match: { server_names: serverNames } }),
    transport_socket: downstreamTls({ tls_certificates: [certFiles(pki, name)] }),
    filters: [hcm([vhost(name, ['*'], [{ match: { prefix: '/' }, route: { cluster: name } }])])],
  });
  const l = listener('sni', port, [chain('exact', ['api.example.test']), chain('wild', ['*.example.test'])], {
    listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }],
    default_filter_chain: chain('fallback', null),
  });
  proxy = await startProxy(bootstrap(adminPort, [l], ['exact', 'wild', 'fallback'].map((n) => staticCluster(n, [ups[n].port]))), { adminPort });
});

after(async () => {
  await proxy?.stop();
  for (const u of Object.values(ups)) await u.close();
});

async function served(servername: string): Promise<{ subject: string; body: string }> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', servername, '-CAfile', pki.ca, '-ign_eof'];
  const r = await run('openssl', args, 10000, `GET / HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
  const subject = /subject=.*CN\s*=\s*([\w-]+)/.exec(r.out)?.[1] ?? '';
  return { subject, body: r.out };
}

test('openssl s_client: the exact server name picks its chain and certificate', async () => {
  const r = await served('api.example.test');
  assert.equal(r.subject, 'exact');
  assert.match(r.body, /"upstream":"exact"/);
});

test('openssl s_client: a deeper name takes the wildcard chain', async () => {
  const r = await served('web.example.test');
  assert.equal(r.subject, 'wild');
  assert.match(r.body, /"upstream":"wild"/);
});

test('openssl s_client: an unknown name takes the default chain', async () => {
  const r = await served('other.org');
  assert.equal(r.subject, 'fallback');
  assert.match(r.body, /"upstream":"fallback"/);
});
