// HPACK (RFC 7541) for the downstream HTTP/2 codec: a decoder for request header blocks (static
// and dynamic tables, Huffman) and an encoder for response header blocks (static and dynamic
// tables; literals are sent raw, Huffman is optional for an encoder).
//
// Header strings are latin1 (one char per octet), as everywhere in the proxy. The decoder also
// classifies each field once — when it enters the dynamic table, or when a literal is read — so
// that building a request does not compare names again: `kind` says which field it is (pseudo-
// header, cookie, content-length, a name HTTP/2 forbids, an invalid name), `vflags` whether the
// value is acceptable (RFC 9113 §8.2.1) and whether it could be a method, path or authority.

// ---- field classification

export const K_REGULAR = 0;
export const K_METHOD = 1;
export const K_SCHEME = 2;
export const K_AUTHORITY = 3;
export const K_PATH = 4;
/** A pseudo-header requests may not carry (:status, :protocol, unknown ones). */
export const K_OTHER_PSEUDO = 5;
export const K_COOKIE = 6;
export const K_HOST = 7;
export const K_CONTENT_LENGTH = 8;
export const K_TE = 9;
/** connection, keep-alive, proxy-connection, transfer-encoding, upgrade (RFC 9113 §8.2.2). */
export const K_CONNECTION_SPECIFIC = 10;
/** Upper-case letters or characters outside the token set: the request is malformed. */
export const K_INVALID_NAME = 11;
export const K_EXPECT = 12;

/** The value holds NUL, CR or LF, or starts or ends with whitespace: malformed (§8.2.1). */
export const V_BAD = 1;
/** The value holds a control character or a space: not a valid method, path or authority. */
export const V_NOT_TOKEN = 2;

const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") TOKEN[c.charCodeAt(0)] = 1;

export function classifyName(n: string): number {
  const len = n.length;
  if (len === 0) return K_INVALID_NAME;
  const pseudo = n.charCodeAt(0) === 58; /* : */
  for (let i = pseudo ? 1 : 0; i < len; i++) if (TOKEN[n.charCodeAt(i)] !== 1) return K_INVALID_NAME;
  if (pseudo) {
    switch (n) {
      case ':method':
        return K_METHOD;
      case ':scheme':
        return K_SCHEME;
      case ':authority':
        return K_AUTHORITY;
      case ':path':
        return K_PATH;
      default:
        return len === 1 ? K_INVALID_NAME : K_OTHER_PSEUDO;
    }
  }
  switch (n) {
    case 'cookie':
      return K_COOKIE;
    case 'host':
      return K_HOST;
    case 'content-length':
      return K_CONTENT_LENGTH;
    case 'te':
      return K_TE;
    case 'expect':
      return K_EXPECT;
    case 'connection':
    case 'keep-alive':
    case 'proxy-connection':
    case 'transfer-encoding':
    case 'upgrade':
      return K_CONNECTION_SPECIFIC;
    default:
      return K_REGULAR;
  }
}

function valueFlags(b: Uint8Array, start: number, end: number): number {
  if (end <= start) return 0;
  let f = 0;
  const first = b[start];
  const last = b[end - 1];
  if (first === 32 || first === 9 || last === 32 || last === 9) f = V_BAD | V_NOT_TOKEN;
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c <= 32 || c === 127) {
      f |= V_NOT_TOKEN;
      if (c === 0 || c === 10 || c === 13) return V_BAD | V_NOT_TOKEN;
    }
  }
  return f;
}

function stringValueFlags(v: string): number {
  const b = Buffer.from(v, 'latin1');
  return valueFlags(b, 0, b.length);
}

// ---- static table (RFC 7541 Appendix A)

const STATIC: [string, string][] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];
const STATIC_LEN = STATIC.length; // 61
const S_NAME: string[] = [''];
const S_VALUE: string[] = [''];
const S_KIND = new Uint8Array(STATIC_LEN + 1);
const S_VFLAGS = new Uint8Array(STATIC_LEN + 1);
/** Static index of the first entry with a name (encoder: literal with a name reference). */
const STATIC_NAME = new Map<string, number>();
for (let i = 0; i < STATIC_LEN; i++) {
  const [n, v] = STATIC[i];
  S_NAME.push(n);
  S_VALUE.push(v);
  S_KIND[i + 1] = classifyName(n);
  S_VFLAGS[i + 1] = stringValueFlags(v);
  if (!STATIC_NAME.has(n)) STATIC_NAME.set(n, i + 1);
}

// ---- Huffman code (RFC 7541 Appendix B). The code is canonical: lengths determine it.

// prettier-ignore
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
const EOS = 256;
const HUFFMAN_CODES = new Uint32Array(257);
{
  const order = Array.from({ length: 257 }, (_, s) => s).sort((a, b) => HUFFMAN_LENGTHS[a] - HUFFMAN_LENGTHS[b] || a - b);
  let code = 0;
  let prev = HUFFMAN_LENGTHS[order[0]];
  for (let k = 0; k < order.length; k++) {
    const len = HUFFMAN_LENGTHS[order[k]];
    if (k > 0) code = (code + 1) * 2 ** (len - prev);
    prev = len;
    HUFFMAN_CODES[order[k]] = code;
  }
}

// Decoding walks the code tree four bits at a time. States are the tree's 256 inner nodes; for
// each state and nibble the table gives the next state, and the symbol completed on the way (a
// code is at least 5 bits long, so a nibble completes at most one).
const D_EMIT = 0x100;
const D_FAIL = 0x20000;
const HUFFMAN_DECODE = new Int32Array(256 * 16);
/** A string may end in this state: the bits since the last symbol are 1s, at most 7 of them. */
const HUFFMAN_ACCEPT = new Uint8Array(256);
{
  // Inner nodes: child[2 * node + bit] is >= 0 for an inner node, or -(symbol + 1) for a leaf.
  const child: number[] = [0, 0];
  let nodes = 1;
  for (let s = 0; s <= EOS; s++) {
    const len = HUFFMAN_LENGTHS[s];
    const code = HUFFMAN_CODES[s];
    let node = 0;
    for (let b = len - 1; b >= 0; b--) {
      const bit = Math.floor(code / 2 ** b) & 1;
      const slot = 2 * node + bit;
      if (b === 0) {
        child[slot] = -(s + 1);
      } else {
        if (child[slot] === 0) {
          child[slot] = nodes++;
          child.push(0, 0);
        }
        node = child[slot];
      }
    }
  }
  // Depth and all-ones-ness of each inner node, for the padding rule (RFC 7541 §5.2).
  const depth = new Int32Array(nodes);
  const ones = new Uint8Array(nodes);
  ones[0] = 1;
  for (let n = 0; n < nodes; n++) {
    for (let bit = 0; bit < 2; bit++) {
      const c = child[2 * n + bit];
      if (c > 0) {
        depth[c] = depth[n] + 1;
        ones[c] = ones[n] === 1 && bit === 1 ? 1 : 0;
      }
    }
  }
  for (let n = 0; n < nodes; n++) HUFFMAN_ACCEPT[n] = ones[n] === 1 && depth[n] <= 7 ? 1 : 0;
  for (let n = 0; n < nodes; n++) {
    for (let nib = 0; nib < 16; nib++) {
      let node = n;
      let out = 0;
      for (let b = 3; b >= 0; b--) {
        const c = child[2 * node + ((nib >> b) & 1)];
        if (c < 0) {
          const sym = -c - 1;
          if (sym === EOS) {
            out = D_FAIL;
            break;
          }
          out = D_EMIT | (sym << 9);
          node = 0;
        } else {
          node = c;
        }
      }
      HUFFMAN_DECODE[n * 16 + nib] = out === D_FAIL ? D_FAIL : out | node;
    }
  }
}

/** Scratch for decoded strings (a header block is at most a few hundred KiB). */
let scratch = Buffer.allocUnsafe(16 * 1024);

/** Huffman-decodes b[start, end) into `scratch`; the decoded length, or -1 when invalid. */
function huffmanDecode(b: Uint8Array, start: number, end: number): number {
  const need = Math.ceil(((end - start) * 8) / 5);
  if (need > scratch.length) scratch = Buffer.allocUnsafe(need + 1024);
  const out = scratch;
  let state = 0;
  let n = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i];
    let e = HUFFMAN_DECODE[state * 16 + (byte >> 4)];
    if ((e & D_FAIL) !== 0) return -1;
    if ((e & D_EMIT) !== 0) out[n++] = e >> 9;
    e = HUFFMAN_DECODE[(e & 0xff) * 16 + (byte & 15)];
    if ((e & D_FAIL) !== 0) return -1;
    if ((e & D_EMIT) !== 0) out[n++] = e >> 9;
    state = e & 0xff;
  }
  return HUFFMAN_ACCEPT[state] === 1 ? n : -1;
}

/** Huffman-encodes a latin1 string (tests and clients of this module; responses go out raw). */
export function huffmanEncode(s: string): Buffer {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += HUFFMAN_LENGTHS[s.charCodeAt(i) & 0xff];
  const out = Buffer.alloc(Math.ceil(bits / 8));
  let acc = 0;
  let nacc = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    let len = HUFFMAN_LENGTHS[sym];
    const code = HUFFMAN_CODES[sym];
    while (len > 0) {
      const take = Math.min(len, 8 - nacc);
      const part = Math.floor(code / 2 ** (len - take)) & ((1 << take) - 1);
      acc = (acc << take) | part;
      nacc += take;
      len -= take;
      if (nacc === 8) {
        out[o++] = acc;
        acc = 0;
        nacc = 0;
      }
    }
  }
  if (nacc > 0) out[o] = (acc << (8 - nacc)) | ((1 << (8 - nacc)) - 1);
  return out;
}

// ---- decoder

/** Decoding failed: a connection error of type COMPRESSION_ERROR. */
export const HPACK_ERROR = -1;

/**
 * Request header blocks → fields. One decoder per connection (its dynamic table); the decoded
 * fields of the last block are in `names`, `values`, `kinds`, `vflags` (0 .. count-1).
 */
export class HpackDecoder {
  names: string[] = [];
  values: string[] = [];
  kinds: number[] = [];
  vflags: number[] = [];
  count = 0;
  /**
   * Fields kept in the arrays above: beyond it a block is still decoded (the dynamic table stays
   * in step) and counted, but its fields are not kept (the request is refused anyway).
   */
  maxFields = 0x7fffffff;
  /** Sum of name + value + 32 over the block's fields (RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE). */
  listSize = 0;
  // The dynamic table: a ring, newest entry at (pos - 1).
  private dNames: string[] = new Array(64);
  private dValues: string[] = new Array(64);
  private dKinds = new Uint8Array(64);
  private dFlags = new Uint8Array(64);
  private dSizes = new Int32Array(64);
  private mask = 63;
  private pos = 0;
  private entries = 0;
  private size = 0;
  /** Current table size (the encoder's last size update). */
  private maxSize: number;
  /** The most the encoder may use: our SETTINGS_HEADER_TABLE_SIZE. */
  limit: number;

  constructor(limit: number) {
    this.limit = limit;
    this.maxSize = limit;
  }

  /** Decodes one complete header block; the field count, or HPACK_ERROR. */
  decode(b: Uint8Array, start: number, end: number): number {
    let i = start;
    let n = 0;
    let list = 0;
    const names = this.names;
    const values = this.values;
    const kinds = this.kinds;
    const vflags = this.vflags;
    while (i < end) {
      const c = b[i];
      let name: string;
      let value: string;
      let kind: number;
      let vf: number;
      if (c >= 128) {
        // Indexed field.
        let idx = c & 127;
        i++;
        if (idx === 127) {
          const r = this.readInt(b, i, end, 127);
          if (r < 0) return HPACK_ERROR;
          idx = this.intValue;
          i = r;
        }
        if (idx === 0) return HPACK_ERROR;
        if (idx <= STATIC_LEN) {
          name = S_NAME[idx];
          value = S_VALUE[idx];
          kind = S_KIND[idx];
          vf = S_VFLAGS[idx];
        } else {
          const d = idx - STATIC_LEN;
          if (d > this.entries) return HPACK_ERROR;
          const at = (this.pos - d) & this.mask;
          name = this.dNames[at];
          value = this.dValues[at];
          kind = this.dKinds[at];
          vf = this.dFlags[at];
        }
      } else if (c >= 32 && c < 64) {
        // Dynamic table size update: only before the first field of a block.
        if (n > 0) return HPACK_ERROR;
        let v = c & 31;
        i++;
        if (v === 31) {
          const r = this.readInt(b, i, end, 31);
          if (r < 0) return HPACK_ERROR;
          v = this.intValue;
          i = r;
        }
        if (v > this.limit) return HPACK_ERROR;
        this.maxSize = v;
        this.evictTo(v);
        continue;
      } else {
        // Literal: with incremental indexing (01), without (0000) or never indexed (0001).
        const indexing = c >= 64;
        const prefix = indexing ? 63 : 15;
        let idx = c & prefix;
        i++;
        if (idx === prefix) {
          const r = this.readInt(b, i, end, prefix);
          if (r < 0) return HPACK_ERROR;
          idx = this.intValue;
          i = r;
        }
        if (idx === 0) {
          const r = this.readString(b, i, end, true);
          if (r < 0) return HPACK_ERROR;
          i = r;
          name = this.str;
          kind = classifyName(name);
        } else if (idx <= STATIC_LEN) {
          name = S_NAME[idx];
          kind = S_KIND[idx];
        } else {
          const d = idx - STATIC_LEN;
          if (d > this.entries) return HPACK_ERROR;
          const at = (this.pos - d) & this.mask;
          name = this.dNames[at];
          kind = this.dKinds[at];
        }
        const r = this.readString(b, i, end, false);
        if (r < 0) return HPACK_ERROR;
        i = r;
        value = this.str;
        vf = this.strFlags;
        if (indexing) this.add(name, value, kind, vf);
      }
      if (n < this.maxFields) {
        names[n] = name;
        values[n] = value;
        kinds[n] = kind;
        vflags[n] = vf;
      }
      n++;
      list += name.length + value.length + 32;
    }
    this.count = n;
    this.listSize = list;
    return n;
  }

  private intValue = 0;

  /** An integer continuing after a full prefix (`prefix` already read); the next offset or -1. */
  private readInt(b: Uint8Array, i: number, end: number, prefix: number): number {
    let v = prefix;
    let m = 0;
    for (;;) {
      if (i >= end || m > 28) return -1;
      const c = b[i++];
      v += (c & 127) * 2 ** m;
      m += 7;
      if (c < 128) break;
    }
    if (v > 0x7fffffff) return -1;
    this.intValue = v;
    return i;
  }

  private str = '';
  private strFlags = 0;

  /** A string literal at b[i]; sets `str` (and `strFlags` for values). The next offset or -1. */
  private readString(b: Uint8Array, i: number, end: number, isName: boolean): number {
    if (i >= end) return -1;
    const c = b[i];
    const huffman = c >= 128;
    let len = c & 127;
    i++;
    if (len === 127) {
      const r = this.readInt(b, i, end, 127);
      if (r < 0) return -1;
      len = this.intValue;
      i = r;
    }
    if (len > end - i) return -1;
    let src: Uint8Array = b;
    let s = i;
    let e = i + len;
    if (huffman) {
      const n = huffmanDecode(b, i, e);
      if (n < 0) return -1;
      src = scratch;
      s = 0;
      e = n;
    }
    if (isName) this.str = e > s ? (src as Buffer).latin1Slice(s, e) : '';
    else {
      this.strFlags = valueFlags(src, s, e);
      this.str = e > s ? (src as Buffer).latin1Slice(s, e) : '';
    }
    return i + len;
  }

  private add(name: string, value: string, kind: number, vf: number): void {
    const size = name.length + value.length + 32;
    if (size > this.maxSize) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - size);
    if (this.entries === this.mask + 1) this.grow();
    const at = this.pos;
    this.dNames[at] = name;
    this.dValues[at] = value;
    this.dKinds[at] = kind;
    this.dFlags[at] = vf;
    this.dSizes[at] = size;
    this.pos = (at + 1) & this.mask;
    this.entries++;
    this.size += size;
  }

  private evictTo(max: number): void {
    while (this.size > max) {
      const at = (this.pos - this.entries) & this.mask;
      this.size -= this.dSizes[at];
      this.dNames[at] = '';
      this.dValues[at] = '';
      this.entries--;
    }
  }

  private grow(): void {
    const cap = (this.mask + 1) * 2;
    const names: string[] = new Array(cap);
    const values: string[] = new Array(cap);
    const kinds = new Uint8Array(cap);
    const flags = new Uint8Array(cap);
    const sizes = new Int32Array(cap);
    // Oldest first, at 0 .. entries-1.
    for (let k = 0; k < this.entries; k++) {
      const at = (this.pos - this.entries + k) & this.mask;
      names[k] = this.dNames[at];
      values[k] = this.dValues[at];
      kinds[k] = this.dKinds[at];
      flags[k] = this.dFlags[at];
      sizes[k] = this.dSizes[at];
    }
    this.dNames = names;
    this.dValues = values;
    this.dKinds = kinds;
    this.dFlags = flags;
    this.dSizes = sizes;
    this.mask = cap - 1;
    this.pos = this.entries;
  }
}

// ---- encoder

/** Values longer than this are not worth a dynamic table entry. */
const INDEX_MAX_VALUE = 256;

/**
 * Response header blocks. One encoder per connection; the caller makes room in `buf` first
 * (at most `fieldRoom(name, value)` bytes per field).
 */
export class HpackEncoder {
  /** name → value → insertion number of the entry. */
  private readonly map = new Map<string, Map<string, number>>();
  private eNames: string[] = [];
  private eValues: string[] = [];
  private eSizes: number[] = [];
  /** Entries ever inserted; the newest has insertion number inserted - 1. */
  private inserted = 0;
  /** Oldest live entry's insertion number. */
  private oldest = 0;
  private size = 0;
  private maxSize = 4096;
  /** A table size change the peer must hear of at the start of the next block. */
  private pendingUpdate = -1;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE changed: we use at most 4096 of it. */
  setLimit(peerLimit: number): void {
    const v = Math.min(peerLimit, 4096);
    if (v === this.maxSize && this.pendingUpdate < 0) return;
    // Always tell the peer (a smaller size must be signalled; a later growth too).
    this.pendingUpdate = this.pendingUpdate < 0 ? v : Math.min(this.pendingUpdate, v);
    this.maxSize = v;
    this.evictTo(v);
  }

  /** Bytes a field may take at most. */
  static fieldRoom(name: string, value: string): number {
    return name.length + value.length + 16;
  }

  /** Start of a header block: a pending table size update goes first. */
  begin(buf: Buffer, p: number): number {
    if (this.pendingUpdate < 0) return p;
    const v = this.pendingUpdate;
    this.pendingUpdate = -1;
    // A shrink below the final size needs the smaller value signalled first.
    if (v < this.maxSize) p = writeInt(buf, p, 0x20, 31, v);
    return writeInt(buf, p, 0x20, 31, this.maxSize);
  }

  /** `:status` (indexed for the static table's codes). */
  status(buf: Buffer, p: number, code: number): number {
    let idx = 0;
    switch (code) {
      case 200: idx = 8; break;
      case 204: idx = 9; break;
      case 206: idx = 10; break;
      case 304: idx = 11; break;
      case 400: idx = 12; break;
      case 404: idx = 13; break;
      case 500: idx = 14; break;
    }
    if (idx !== 0) {
      buf[p] = 0x80 | idx;
      return p + 1;
    }
    return this.field(buf, p, ':status', String(code));
  }

  /** One field; names must be lower-case (the caller sees to it). */
  field(buf: Buffer, p: number, name: string, value: string): number {
    const values = this.map.get(name);
    if (values !== undefined) {
      const ins = values.get(value);
      if (ins !== undefined && ins >= this.oldest) return writeInt(buf, p, 0x80, 127, STATIC_LEN + this.inserted - ins);
    } else if (hasUpper(name)) {
      // HTTP/2 field names are lower-case (a configured header may not be).
      return this.field(buf, p, name.toLowerCase(), value);
    }
    const nameIdx = STATIC_NAME.get(name) ?? 0;
    if (value.length > INDEX_MAX_VALUE || name === 'set-cookie' || this.maxSize === 0) {
      // Literal without indexing.
      p = writeInt(buf, p, 0, 15, nameIdx);
      if (nameIdx === 0) p = writeRaw(buf, p, name);
      return writeRaw(buf, p, value);
    }
    p = writeInt(buf, p, 0x40, 63, nameIdx);
    if (nameIdx === 0) p = writeRaw(buf, p, name);
    p = writeRaw(buf, p, value);
    this.add(name, value, values);
    return p;
  }

  private add(name: string, value: string, values: Map<string, number> | undefined): void {
    const size = name.length + value.length + 32;
    if (size > this.maxSize) {
      this.evictTo(0);
      return;
    }
    this.evictTo(this.maxSize - size);
    if (values === undefined) {
      values = new Map();
      this.map.set(name, values);
    }
    values.set(value, this.inserted++);
    this.eNames.push(name);
    this.eValues.push(value);
    this.eSizes.push(size);
    this.size += size;
  }

  private evictTo(max: number): void {
    let k = 0;
    while (this.size > max) {
      const name = this.eNames[k];
      const value = this.eValues[k];
      this.size -= this.eSizes[k];
      const values = this.map.get(name);
      if (values !== undefined && values.get(value) === this.oldest) {
        values.delete(value);
        if (values.size === 0) this.map.delete(name);
      }
      this.oldest++;
      k++;
    }
    if (k > 0) {
      this.eNames.splice(0, k);
      this.eValues.splice(0, k);
      this.eSizes.splice(0, k);
    }
  }
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}

/** An HPACK integer with an n-bit prefix (`mask` = 2^n - 1) below the `high` bits. */
function writeInt(buf: Buffer, p: number, high: number, mask: number, v: number): number {
  if (v < mask) {
    buf[p] = high | v;
    return p + 1;
  }
  buf[p++] = high | mask;
  v -= mask;
  while (v >= 128) {
    buf[p++] = (v & 127) | 128;
    v = Math.floor(v / 128);
  }
  buf[p] = v;
  return p + 1;
}

/** A string literal without Huffman coding. */
function writeRaw(buf: Buffer, p: number, s: string): number {
  p = writeInt(buf, p, 0, 127, s.length);
  const n = s.length;
  if (n < 32) {
    for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
    return p + n;
  }
  return p + buf.write(s, p, n, 'latin1');
}
