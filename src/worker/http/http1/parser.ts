// HTTP/1.1 message heads, parsed in one pass over a latin1 string of the complete head.
// Strict where Envoy is strict (its codec's statuses: 400, 431, 501); every header name comes out
// lower-cased, as Envoy's HTTP/1 codec emits them.

/** 1 = token char, 2 = upper-case letter (also a token char). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") TOKEN[c.charCodeAt(0)] = 1;
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') TOKEN[c.charCodeAt(0)] = 2;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;

/** Stable detail codes, reported as Envoy's response-code details. */
export const CodecError = {
  BAD_REQUEST_LINE: 'http1.codec_error',
  BAD_VERSION: 'http1.codec_error',
  BAD_HEADER: 'http1.invalid_characters',
  CL_AND_TE: 'http1.content_length_and_chunked_not_allowed',
  BAD_CONTENT_LENGTH: 'http1.content_length_not_allowed',
  BAD_TE: 'http1.invalid_transfer_encoding',
  TOO_MANY_HEADERS: 'http1.too_many_headers',
  HEADERS_TOO_LARGE: 'http1.headers_too_large',
  OBS_FOLD: 'http1.codec_error',
} as const;

/** Fields common to request and response heads. */
class MessageHead {
  minor = 1;
  /** Flat [name, value, name, value, …], names lower-cased, in arrival order. */
  headers: string[] = [];
  contentLength = -1;
  chunked = false;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  /** Extra header names listed in `Connection` (hop-by-hop by declaration). */
  connTokens: string[] | null = null;
  upgrade = '';
  error = '';
}

export class RequestHead extends MessageHead {
  method = '';
  target = '';
  host = '';
  expectContinue = false;
}

export class ResponseHead extends MessageHead {
  status = 0;
}

/**
 * Parses a complete request head `s` (ending with the blank line). Returns 0, or the HTTP status
 * to reply with; `h.error` then holds the detail code.
 */
export function parseRequestHead(s: string, h: RequestHead, maxHeaders: number): number {
  const sp1 = scanToken(s, 0);
  if (sp1 === 0 || s.charCodeAt(sp1) !== SP) return fail(h, 400, CodecError.BAD_REQUEST_LINE);
  h.method = s.substring(0, sp1);
  const sp2 = s.indexOf(' ', sp1 + 1);
  if (sp2 < 0 || sp2 === sp1 + 1) return fail(h, 400, CodecError.BAD_REQUEST_LINE);
  h.target = s.substring(sp1 + 1, sp2);
  if (!validTarget(h.target)) return fail(h, 400, CodecError.BAD_REQUEST_LINE);
  const minor = parseVersion(s, sp2 + 1);
  if (minor < 0 || s.charCodeAt(sp2 + 9) !== CR || s.charCodeAt(sp2 + 10) !== LF) {
    return fail(h, 400, CodecError.BAD_VERSION);
  }
  h.minor = minor;
  const st = parseHeaders(s, sp2 + 11, h, maxHeaders);
  if (st !== 0) return st;
  if (minor === 0 && !h.connKeepAlive) h.connClose = true;
  return 0;
}

/** Parses a complete response head. Returns 0 or 502 (an upstream protocol error). */
export function parseResponseHead(s: string, h: ResponseHead, maxHeaders: number): number {
  const minor = parseVersion(s, 0);
  if (minor < 0 || s.charCodeAt(8) !== SP) return fail(h, 502, CodecError.BAD_VERSION);
  const status = digit(s, 9) * 100 + digit(s, 10) * 10 + digit(s, 11);
  if (!(status >= 100 && status <= 999)) return fail(h, 502, CodecError.BAD_REQUEST_LINE);
  const eol = s.indexOf('\r\n', 12);
  if (eol < 0) return fail(h, 502, CodecError.BAD_REQUEST_LINE);
  h.status = status;
  h.minor = minor;
  const st = parseHeaders(s, eol + 2, h, maxHeaders);
  if (st !== 0) return 502;
  if (minor === 0 && !h.connKeepAlive) h.connClose = true;
  return 0;
}

function fail(h: MessageHead, status: number, detail: string): number {
  h.error = detail;
  return status;
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : NaN;
}

/** "HTTP/1.x" at i → x (0 or 1), else -1. */
function parseVersion(s: string, i: number): number {
  if (!s.startsWith('HTTP/1.', i)) return -1;
  const m = s.charCodeAt(i + 7);
  return m === 49 ? 1 : m === 48 ? 0 : -1;
}

function scanToken(s: string, i: number): number {
  const n = s.length;
  while (i < n && TOKEN[s.charCodeAt(i)] !== 0) i++;
  return i;
}

/** origin-form, absolute-form, authority-form (CONNECT) or `*`; no controls or spaces. */
function validTarget(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c <= 32 || c === 127) return false;
  }
  return true;
}

function parseHeaders(s: string, i: number, h: MessageHead, maxHeaders: number): number {
  const headers = h.headers;
  const end = s.length;
  while (true) {
    const c0 = s.charCodeAt(i);
    if (c0 === CR) break;
    if (c0 === SP || c0 === HT) return fail(h, 400, CodecError.OBS_FOLD);
    let j = i;
    let upper = false;
    let t = 0;
    while ((t = TOKEN[s.charCodeAt(j)]) !== 0) {
      if (t === 2) upper = true;
      j++;
    }
    if (j === i || s.charCodeAt(j) !== 58 /* : */) return fail(h, 400, CodecError.BAD_HEADER);
    const name = knownName(s, i, j) ?? (upper ? s.substring(i, j).toLowerCase() : s.substring(i, j));
    const eol = s.indexOf('\r', j + 1);
    if (eol < 0 || eol + 1 >= end || s.charCodeAt(eol + 1) !== LF) return fail(h, 400, CodecError.BAD_HEADER);
    const value = trimValue(s, j + 1, eol);
    if (value === null) return fail(h, 400, CodecError.BAD_HEADER);
    if (headers.length >= maxHeaders * 2) return fail(h, 431, CodecError.TOO_MANY_HEADERS);
    const st = noteSpecial(h, name, value);
    if (st !== 0) return st;
    headers.push(name, value);
    i = eol + 2;
  }
  if (h.chunked && h.contentLength >= 0) return fail(h, 400, CodecError.CL_AND_TE);
  return 0;
}

/**
 * Header names nearly every message carries, by length: matching one case-insensitively in place
 * returns the interned lower-case string, with no substring or toLowerCase allocation.
 */
const KNOWN: string[][] = [];
for (const n of [
  'host', 'date', 'server', 'accept', 'user-agent', 'connection', 'keep-alive', 'content-type', 'content-length',
  'transfer-encoding', 'accept-encoding', 'accept-language', 'cache-control', 'x-request-id', 'x-forwarded-for',
  'x-forwarded-proto', 'last-modified', 'etag', 'vary', 'location', 'cookie', 'set-cookie', 'authorization',
  'upgrade', 'expect', 'te', 'content-encoding', 'grpc-status', 'grpc-message', 'origin', 'referer',
]) (KNOWN[n.length] ??= []).push(n);

function knownName(s: string, i: number, j: number): string | undefined {
  const list = KNOWN[j - i];
  if (list === undefined) return undefined;
  outer: for (let k = 0; k < list.length; k++) {
    const n = list[k];
    for (let x = 0; x < n.length; x++) {
      // ASCII letters differ from their lower case by 0x20; '-' and digits are unchanged by | 0x20.
      if ((s.charCodeAt(i + x) | 0x20) !== n.charCodeAt(x)) continue outer;
    }
    return n;
  }
  return undefined;
}

/** The value between a and b without surrounding whitespace; null when it holds a control char. */
function trimValue(s: string, a: number, b: number): string | null {
  while (a < b && (s.charCodeAt(a) === SP || s.charCodeAt(a) === HT)) a++;
  while (b > a && (s.charCodeAt(b - 1) === SP || s.charCodeAt(b - 1) === HT)) b--;
  for (let k = a; k < b; k++) {
    const c = s.charCodeAt(k);
    if ((c < 32 && c !== HT) || c === 127) return null;
  }
  return s.substring(a, b);
}

/** Headers that decide framing and connection handling are read once, here. */
function noteSpecial(h: MessageHead, name: string, value: string): number {
  switch (name) {
    case 'content-length':
      return noteContentLength(h, value);
    case 'transfer-encoding':
      return noteTransferEncoding(h, value);
    case 'connection':
      noteConnection(h, value);
      return 0;
    case 'host':
      if (h instanceof RequestHead) {
        if (h.host !== '') return fail(h, 400, CodecError.BAD_HEADER);
        h.host = value;
      }
      return 0;
    case 'upgrade':
      h.upgrade = value;
      return 0;
    case 'expect':
      if (h instanceof RequestHead && value.toLowerCase() === '100-continue') h.expectContinue = true;
      return 0;
    default:
      return 0;
  }
}

function noteContentLength(h: MessageHead, value: string): number {
  if (value.length === 0 || value.length > 15) return fail(h, 400, CodecError.BAD_CONTENT_LENGTH);
  let n = 0;
  for (let k = 0; k < value.length; k++) {
    const d = value.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return fail(h, 400, CodecError.BAD_CONTENT_LENGTH);
    n = n * 10 + d;
  }
  if (h.contentLength >= 0 && h.contentLength !== n) return fail(h, 400, CodecError.BAD_CONTENT_LENGTH);
  h.contentLength = n;
  return 0;
}

function noteTransferEncoding(h: MessageHead, value: string): number {
  // Only a lone `chunked` is served; anything else (gzip, chunked twice, …) is not implemented.
  if (h.chunked || value.toLowerCase() !== 'chunked') return fail(h, 501, CodecError.BAD_TE);
  h.chunked = true;
  return 0;
}

function noteConnection(h: MessageHead, value: string): void {
  // The two values nearly every client sends skip the split.
  if (value.length === 10 && value.toLowerCase() === 'keep-alive') {
    h.connKeepAlive = true;
    return;
  }
  if (value.length === 5 && value.toLowerCase() === 'close') {
    h.connClose = true;
    return;
  }
  const parts = value.split(',');
  for (let k = 0; k < parts.length; k++) {
    const tok = parts[k].trim().toLowerCase();
    if (tok === 'close') h.connClose = true;
    else if (tok === 'keep-alive') h.connKeepAlive = true;
    else if (tok === 'upgrade') h.connUpgrade = true;
    else if (tok !== '') (h.connTokens ??= []).push(tok);
  }
}

/** Finds the blank line ending a head; returns the index just past it, or -1. */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

export function findHeadEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf(HEAD_END, from > 3 ? from - 3 : 0);
  return i < 0 ? -1 : i + 4;
}
