// Envoy's default tag extraction rules (its "well known" tag names), restated from the documented
// behaviour: which tag each rule yields and which part of the stat name it removes. A regex rule's
// first capture group is cut out of the name and its second group (or the first) is the value. A
// token rule splits the name on dots: `$` is the value token, `*` any one token, `**` any run.
// Order matters: Envoy applies rules with no leading literal token first, then the rules keyed by
// the name's first token, each group in this declaration order (all regex rules before all token
// rules), and label order in Prometheus output follows from that.

export interface TagRule {
  name: string;
  /** JS regex source (searched, not anchored unless it says so). */
  regex?: string;
  /** Dotted token pattern. */
  tokens?: string;
  /** Cheap pre-check: the rule can only match names containing this. */
  substr?: string;
  /** A value that never counts as a match (listener address rule skips `admin`). */
  negative?: string;
}

// A listener's stat prefix is its address: `0.0.0.0_8000` or `[__1]_8000` for IPv6.
const ADDRESS = String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`;
const VALUE = String.raw`[^.]+`;
const CIPHER = String.raw`[\w-]+`;
const LISTENER_OR_CLUSTER = String.raw`(?:listener|cluster)\..*?`;

const REGEX_RULES: TagRule[] = [
  { name: 'envoy.response_code', regex: String.raw`_rq(_(\d{3}))$`, substr: '_rq_' },
  { name: 'envoy.response_code_class', regex: String.raw`_rq_((\d))xx$`, substr: '_rq_' },
  {
    name: 'envoy.dynamo_partition_id',
    regex: String.raw`^http\.${VALUE}\.dynamodb\.table\.${VALUE}\.capacity\.${VALUE}(\.__partition_id=(\w{7}))$`,
    substr: '.dynamodb.table.',
  },
  {
    name: 'envoy.dynamo_operation',
    regex: String.raw`^http\.${VALUE}\.dynamodb.(?:operation|table\.${VALUE}\.capacity)(\.(${VALUE}))(?:\.|$)`,
    substr: '.dynamodb.',
  },
  {
    name: 'envoy.dynamo_table',
    regex: String.raw`^http\.${VALUE}\.dynamodb.(?:table|error)\.((${VALUE})\.)`,
    substr: '.dynamodb.',
  },
  { name: 'envoy.ssl_cipher', regex: String.raw`^listener\..*?\.ssl\.ciphers(\.(${CIPHER}))$`, substr: '.ssl.ciphers.' },
  { name: 'envoy.ssl_curve', regex: String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.curves(\.(${CIPHER}))$`, substr: '.ssl.curves.' },
  { name: 'envoy.ssl_sigalg', regex: String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.sigalgs(\.(${CIPHER}))$`, substr: '.ssl.sigalgs.' },
  {
    name: 'envoy.ssl_version',
    regex: String.raw`^${LISTENER_OR_CLUSTER}\.ssl\.versions(\.(TLSv\d\.\d))$`,
    substr: '.ssl.versions.',
  },
  { name: 'cipher_suite', regex: String.raw`^cluster\.${VALUE}\.ssl\.ciphers(\.(${CIPHER}))$`, substr: '.ssl.ciphers.' },
  { name: 'envoy.http_conn_manager_prefix', regex: String.raw`^listener\..*?\.http\.((${VALUE})\.)`, substr: '.http.' },
  {
    name: 'envoy.worker_id',
    regex: String.raw`^(?:listener\.(?:${ADDRESS}|${VALUE})\.|server\.|listener_manager\.)worker_((\d+)\.)`,
  },
  { name: 'envoy.listener_address', regex: String.raw`^listener\.((${ADDRESS}|${VALUE})\.)`, negative: 'admin' },
  // Route config names may contain dots, so the rule spans to the last token.
  { name: 'envoy.rds_route_config', regex: String.raw`^http\.${VALUE}\.rds\.(([\w.-]+)\.)\w+?$`, substr: '.rds.' },
];

const TOKEN_RULES: TagRule[] = [
  { name: 'envoy.mongo_callsite', tokens: 'mongo.*.collection.*.callsite.$.query.**' },
  { name: 'envoy.mongo_collection', tokens: 'mongo.*.collection.$.**.query.*' },
  { name: 'envoy.mongo_cmd', tokens: 'mongo.*.cmd.$.**' },
  { name: 'envoy.grpc_bridge_method', tokens: 'cluster.*.grpc.*.$.**' },
  { name: 'envoy.http_user_agent', tokens: 'http.*.user_agent.$.**' },
  { name: 'envoy.virtual_cluster', tokens: 'vhost.*.vcluster.$.**' },
  { name: 'envoy.fault_downstream_cluster', tokens: 'http.*.fault.$.**' },
  { name: 'envoy.grpc_bridge_service', tokens: 'cluster.*.grpc.$.**' },
  { name: 'envoy.tcp_prefix', tokens: 'tcp.$.**' },
  { name: 'envoy.udp_prefix', tokens: 'udp.$.**' },
  { name: 'envoy.clientssl_prefix', tokens: 'auth.clientssl.$.**' },
  { name: 'envoy.ratelimit_prefix', tokens: 'ratelimit.$.**' },
  { name: 'envoy.cluster_name', tokens: 'cluster.$.**' },
  { name: 'envoy.ext_authz_prefix', tokens: 'cluster.*.ext_authz.$.**' },
  { name: 'envoy.ext_authz_prefix', tokens: 'http.*.ext_authz.$.**' },
  { name: 'envoy.http_conn_manager_prefix', tokens: 'http.$.**' },
  { name: 'envoy.virtual_host', tokens: 'vhost.$.**' },
  { name: 'envoy.mongo_prefix', tokens: 'mongo.$.**' },
  { name: 'envoy.route', tokens: 'vhost.*.route.$.**' },
  { name: 'envoy.thrift_prefix', tokens: 'thrift.$.**' },
  { name: 'envoy.redis_prefix', tokens: 'redis.$.**' },
  { name: 'envoy.local_http_ratelimit_prefix', tokens: '$.http_local_rate_limit.**' },
  { name: 'envoy.local_network_ratelimit_prefix', tokens: 'local_rate_limit.$.**' },
  { name: 'envoy.local_listener_ratelimit_prefix', tokens: 'listener_local_ratelimit.$.**' },
  { name: 'envoy.dns_filter_prefix', tokens: 'dns_filter.$.**' },
];

export const DEFAULT_TAG_RULES: readonly TagRule[] = [...REGEX_RULES, ...TOKEN_RULES];
