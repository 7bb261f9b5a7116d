// HTTP filters are plugins keyed by their config's type name (Envoy's typed_config type URL
// without the prefix). Each factory builds one filter instance per filter chain; per-request
// state lives on the stream. The router is terminal and runs after all of them.
import type { ActiveStream } from './active_stream.ts';

export interface HttpFilter {
  /** false when the filter answered (a local reply) or will resume the stream itself. */
  onRequestHeaders(stream: ActiveStream): boolean;
}

export type HttpFilterFactory = (config: unknown) => HttpFilter;

export const ROUTER_FILTER = 'envoy.extensions.filters.http.router.v3.Router';

const registry = new Map<string, HttpFilterFactory>();

export function registerHttpFilter(typeName: string, f: HttpFilterFactory): void {
  registry.set(typeName, f);
}

export function httpFilterFactory(typeName: string): HttpFilterFactory | undefined {
  return registry.get(typeName);
}
