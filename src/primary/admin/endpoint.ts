// The shape every admin endpoint shares, and small response builders.

export interface AdminRequest {
  method: string;
  path: string;
  query: URLSearchParams;
}

export interface AdminResponse {
  status: number;
  body: string;
  /** Default: Envoy's admin default, text/plain; charset=UTF-8. */
  contentType?: string;
  /** Runs once the response has been flushed (e.g. exit after /quitquitquit's "OK"). */
  after?: () => void;
}

export interface ParamHelp {
  name: string;
  help: string;
}

export interface Endpoint {
  path: string;
  help: string;
  /** Changes server state, so only POST is accepted (Envoy answers anything else with 405). */
  mutates: boolean;
  /** A mutating endpoint may still allow a side-effect free GET for some queries. */
  readOnly?: (q: URLSearchParams) => boolean;
  params?: ParamHelp[];
  handle(req: AdminRequest): AdminResponse | Promise<AdminResponse>;
}

export const TEXT = 'text/plain; charset=UTF-8';
export const JSON_TYPE = 'application/json';
export const HTML = 'text/html; charset=UTF-8';

export function text(body: string, status = 200): AdminResponse {
  return { status, body, contentType: TEXT };
}

/** Pretty JSON the way protobuf's printer lays it out (one-space indent). */
export function json(value: unknown, status = 200): AdminResponse {
  return { status, body: JSON.stringify(value, null, 1), contentType: JSON_TYPE };
}

/** Envoy treats a query flag as set when present, whatever its value. */
export function flag(q: URLSearchParams, name: string): boolean {
  return q.has(name);
}
