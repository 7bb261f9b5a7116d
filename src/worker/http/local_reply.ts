// Replies the proxy generates itself, shaped as Envoy sends them: status line, content-length,
// content-type text/plain when there is a body, date and server. Each carries an Envoy response
// flag (the stable code of why it was sent) for access logs and stats.
import { STATUS_CODES } from '../../shared/status_codes.ts';

/** Envoy's response flags (short form). */
export const ResponseFlag = {
  NONE: '-',
  NO_ROUTE: 'NR',
  NO_CLUSTER: 'NC',
  NO_HEALTHY_UPSTREAM: 'UH',
  UPSTREAM_CONNECT_FAILURE: 'UF',
  UPSTREAM_TIMEOUT: 'UT',
  UPSTREAM_CONNECTION_TERMINATION: 'UC',
  UPSTREAM_REMOTE_RESET: 'UR',
  UPSTREAM_OVERFLOW: 'UO',
  UPSTREAM_PROTOCOL_ERROR: 'UPE',
  DOWNSTREAM_PROTOCOL_ERROR: 'DPE',
  DOWNSTREAM_CONNECTION_TERMINATION: 'DC',
  STREAM_IDLE_TIMEOUT: 'SI',
  DURATION_TIMEOUT: 'DT',
} as const;
export type ResponseFlagValue = (typeof ResponseFlag)[keyof typeof ResponseFlag];

let cachedDate = new Date().toUTCString();
setInterval(() => {
  cachedDate = new Date().toUTCString();
}, 1000).unref();

/** The RFC 7231 date, refreshed once a second: a local reply never formats a date. */
export function httpDate(): string {
  return cachedDate;
}

export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Unknown';
}

/**
 * The complete HTTP/1.1 local reply (head and body) as a latin1 string. `body` is latin1 (one char
 * per byte; the built-in bodies are ASCII); `extra` is pre-rendered header lines ending in CRLF.
 */
export function renderLocalReply(
  status: number,
  body: string,
  serverName: string,
  close: boolean,
  extra: string,
): string {
  let head = `HTTP/1.1 ${status} ${reasonPhrase(status)}\r\n`;
  if (body.length > 0 && !extra.includes('content-type:')) head += 'content-type: text/plain\r\n';
  head += `content-length: ${body.length}\r\ndate: ${cachedDate}\r\n`;
  if (serverName !== '') head += `server: ${serverName}\r\n`;
  head += extra;
  if (close) head += 'connection: close\r\n';
  return head + '\r\n' + body;
}

/** Envoy's local reply bodies. */
export const LocalBody = {
  NO_HEALTHY_UPSTREAM: 'no healthy upstream',
  TIMEOUT: 'upstream request timeout',
  CONNECT_FAILURE: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  CONNECTION_TERMINATION:
    'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  PROTOCOL_ERROR: 'upstream connect error or disconnect/reset before headers. reset reason: protocol error',
  OVERFLOW: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
  BAD_REQUEST: 'Bad Request',
  HEADERS_TOO_LARGE: 'Request Header Fields Too Large',
  NOT_IMPLEMENTED: 'Not Implemented',
  STREAM_IDLE_TIMEOUT: 'stream timeout',
  REQUEST_TIMEOUT: 'request timeout',
  DURATION_TIMEOUT: 'downstream duration timeout',
  REQUEST_HEADER_TIMEOUT: 'request header timeout',
} as const;
