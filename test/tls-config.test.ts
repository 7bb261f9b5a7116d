// Translation of TLS transport sockets, HTTP/2 protocol options and codec types into the snapshot:
// Envoy's defaults, SDS references (static and over xDS), and the errors for what cannot be served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSnapshot, type BuildResult } from '../src/primary/config/build.ts';
import type { HcmFilterSnap } from '../src/shared/snapshot.ts';

type O = Record<string, any>;
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const DTLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UTLS = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const CERT = { certificate_chain: { inline_string: 'PEM-CHAIN' }, private_key: { inline_string: 'PEM-KEY' } };

function build(chain: O, cluster: O = {}, hcm: O = {}, extra: O = {}): BuildResult {
  return buildSnapshot({
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 8443 } },
        filter_chains: [{
          ...chain,
          filters: [{ name: 'hcm', typed_config: { '@type': HCM, stat_prefix: 's', route_config: { virtual_hosts: [] }, http_filters: [{ name: 'envoy.filters.http.router' }], ...hcm } }],
        }],
      }],
      clusters: [{ name: 'c', connect_timeout: '1s', ...cluster }],
      ...extra,
    },
  }, { version: 1, drainTimeMs: 1000 });
}

const errors = (r: BuildResult) => r.issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`);

test('DownstreamTlsContext: certificates, validation, ALPN, tls_params and Envoy defaults', () => {
  const r = build({
    transport_socket: {
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': DTLS,
        require_client_certificate: true,
        common_tls_context: {
          alpn_protocols: ['h2', 'http/1.1'],
          tls_certificates: [CERT],
          tls_params: { tls_minimum_protocol_version: 'TLSv1_3', cipher_suites: ['[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]'] },
          validation_context: { trusted_ca: { filename: '/ca.pem' }, match_typed_subject_alt_names: [{ san_type: 'URI', matcher: { prefix: 'spiffe://a/' } }] },
        },
      },
    },
  });
  assert.deepEqual(errors(r), []);
  const t = r.snapshot.listeners[0].filterChains[0].tls!;
  assert.equal(t.requireClientCertificate, true);
  assert.deepEqual(t.alpn, ['h2', 'http/1.1']);
  assert.deepEqual([t.minVersion, t.maxVersion], ['TLSv1.3', 'TLSv1.3']);
  assert.deepEqual(t.cipherSuites, ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']);
  assert.equal(Buffer.from(t.certificates[0].certificateChain!.inline!).toString(), 'PEM-CHAIN');
  assert.deepEqual(t.validation?.trustedCa, { filename: '/ca.pem', inline: null });
  assert.deepEqual(t.validation?.matchSubjectAltNames, [{ sanType: 'uri', match: { kind: 'prefix', value: 'spiffe://a/', ignoreCase: false } }]);
});

test('SDS references: static secrets by name, dynamic ones subscribed over xDS', () => {
  const r = build({
    transport_socket: {
      name: 'tls',
      typed_config: {
        '@type': DTLS,
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'static_cert' }],
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'x' } }] },
            validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { path_config_source: { path: '/tmp/sds.yaml' } } },
          },
        },
      },
    },
  }, {}, {}, { secrets: [{ name: 'static_cert', tls_certificate: CERT }] });
  assert.deepEqual(errors(r), []);
  const t = r.snapshot.listeners[0].filterChains[0].tls!;
  assert.deepEqual(t.certificateSecrets, ['static_cert']);
  assert.equal(t.validationSecret, 'ROOTCA');
  assert.equal(r.snapshot.secrets?.static_cert.kind, 'tls_certificate');
  assert.deepEqual(r.xds?.refs.sds.map((s) => s.name), ['ROOTCA']);
});

test('UpstreamTlsContext, transport_socket_matches and HTTP/2 options on clusters', () => {
  const tls = { name: 'tls', typed_config: { '@type': UTLS, sni: 'up.example', common_tls_context: { tls_certificates: [CERT] } } };
  const r = build({}, {
    transport_socket: tls,
    transport_socket_matches: [{ name: 'm', match: { tlsMode: 'istio' }, transport_socket: tls }, { name: 'plain', match: {}, transport_socket: { name: 'envoy.transport_sockets.raw_buffer' } }],
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 7, initial_stream_window_size: 65536 } },
      },
    },
  });
  assert.deepEqual(errors(r), []);
  const c = r.snapshot.clusters[0];
  assert.equal(c.upstreamProtocol, 'http2');
  assert.equal(c.http2?.maxConcurrentStreams, 7);
  assert.equal(c.http2?.initialStreamWindowSize, 65536);
  assert.equal(c.tls?.sni, 'up.example');
  assert.deepEqual([c.tls?.minVersion, c.tls?.maxVersion], ['TLSv1.2', 'TLSv1.2'], 'Envoy client defaults');
  assert.deepEqual(c.tlsMatches?.map((m) => [m.name, m.match, m.tls === null]), [['m', { tlsMode: 'istio' }, false], ['plain', {}, true]]);
});

test('codec_type and downstream http2_protocol_options', () => {
  const r = build({}, {}, { codec_type: 'HTTP2', http2_protocol_options: { max_concurrent_streams: 100, initial_connection_window_size: 1048576 } });
  assert.deepEqual(errors(r), []);
  const hcm = (r.snapshot.listeners[0].filterChains[0].filters[0] as HcmFilterSnap).hcm;
  assert.equal(hcm.codecType, 'http2');
  assert.equal(hcm.http2?.maxConcurrentStreams, 100);
  assert.equal(hcm.http2?.initialConnectionWindowSize, 1048576);
  assert.equal(hcm.http2?.initialStreamWindowSize, 268435456);
});

test('errors: no certificate, client certificates without a CA, unknown transport sockets, TLS the wrong way round', () => {
  const noCert = build({ transport_socket: { name: 'tls', typed_config: { '@type': DTLS, common_tls_context: {} } } });
  assert.match(errors(noCert).join('\n'), /filter_chains\[0\]\.transport_socket\.typed_config\.common_tls_context: a DownstreamTlsContext needs a certificate/);
  const noCa = build({ transport_socket: { name: 'tls', typed_config: { '@type': DTLS, require_client_certificate: true, common_tls_context: { tls_certificates: [CERT] } } } });
  assert.match(errors(noCa).join('\n'), /require_client_certificate: requiring a client certificate needs a validation_context/);
  const alts = build({ transport_socket: { name: 'envoy.transport_sockets.alts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts', handshaker_service: 'x' } } });
  assert.match(errors(alts).join('\n'), /transport socket envoy\.extensions\.transport_sockets\.alts\.v3\.Alts is not supported/);
  const swapped = build({}, { transport_socket: { name: 'tls', typed_config: { '@type': DTLS, common_tls_context: {} } } });
  assert.match(errors(swapped).join('\n'), /clusters\[0\]\.transport_socket\.typed_config: expected UpstreamTlsContext, got DownstreamTlsContext/);
});
