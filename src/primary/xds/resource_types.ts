// The xDS resource types Orion subscribes to, with what differs between them on the wire.
export const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const ENDPOINT = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
/** Wrapper a SotW response may use to carry a resource's name, version and TTL. */
export const RESOURCE_WRAPPER = 'type.googleapis.com/envoy.service.discovery.v3.Resource';

export type Short = 'lds' | 'cds' | 'rds' | 'eds' | 'sds';

export interface ResourceType {
  url: string;
  short: Short;
  /** Fully-qualified proto message name. */
  proto: string;
  /** LDS and CDS: a SotW response is the complete set, so a missing resource is removed. */
  sotwComplete: boolean;
  /** gRPC service and methods for a per-type (non-ADS) stream. */
  service: string;
  sotwMethod: string;
  deltaMethod: string;
}

const T = (url: string, short: Short, sotwComplete: boolean, service: string, kind: string): ResourceType => ({
  url,
  short,
  proto: url.slice(url.indexOf('/') + 1),
  sotwComplete,
  service,
  sotwMethod: `/${service}/Stream${kind}`,
  deltaMethod: `/${service}/Delta${kind}`,
});

export const TYPES: Record<string, ResourceType> = {
  [CLUSTER]: T(CLUSTER, 'cds', true, 'envoy.service.cluster.v3.ClusterDiscoveryService', 'Clusters'),
  [ENDPOINT]: T(ENDPOINT, 'eds', false, 'envoy.service.endpoint.v3.EndpointDiscoveryService', 'Endpoints'),
  [LISTENER]: T(LISTENER, 'lds', true, 'envoy.service.listener.v3.ListenerDiscoveryService', 'Listeners'),
  [ROUTE]: T(ROUTE, 'rds', false, 'envoy.service.route.v3.RouteDiscoveryService', 'Routes'),
  [SECRET]: T(SECRET, 'sds', false, 'envoy.service.secret.v3.SecretDiscoveryService', 'Secrets'),
};

/** Envoy (re)subscribes in this order on a new ADS stream: clusters before what they need. */
export const TYPE_ORDER: readonly string[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET];

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const ADS_SOTW_METHOD = `/${ADS_SERVICE}/StreamAggregatedResources`;
export const ADS_DELTA_METHOD = `/${ADS_SERVICE}/DeltaAggregatedResources`;
