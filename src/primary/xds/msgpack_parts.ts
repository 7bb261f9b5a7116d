// Snapshots are msgpack maps, so a snapshot can be assembled from separately packed pieces:
// each resource is packed once when it is translated, and publishing concatenates bytes instead
// of re-packing 10,000 clusters. The output is plain msgpack that `unpack` reads as usual.
import { pack } from 'msgpackr';

/** A packed map without its header: `count` key/value pairs. */
export interface MapBody {
  bytes: Uint8Array;
  count: number;
}

/** Packs a value into bytes of its own (msgpackr reuses its output buffer between calls). */
export function packCopy(v: unknown): Uint8Array {
  return new Uint8Array(pack(v));
}

/**
 * `o` packed, without its map header. `transient`: the bytes are a view into msgpackr's buffer,
 * valid only until the next pack (copy them first, e.g. into Bytes).
 */
export function mapBody(o: object, transient = false): MapBody {
  const b = pack(o);
  const h = b[0];
  let skip: number;
  let count: number;
  if ((h & 0xf0) === 0x80) [skip, count] = [1, h & 0x0f];
  else if (h === 0xde) [skip, count] = [3, b.readUInt16BE(1)];
  else if (h === 0xdf) [skip, count] = [5, b.readUInt32BE(1)];
  else throw new Error(`expected a msgpack map, got 0x${h.toString(16)}`);
  return { bytes: transient ? b.subarray(skip) : new Uint8Array(b.subarray(skip)), count };
}

export function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  if (n < 0x10000) return Uint8Array.of(0xde, n >> 8, n & 0xff);
  return Uint8Array.of(0xdf, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

export function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

export function binHeader(n: number): Uint8Array {
  if (n < 0x100) return Uint8Array.of(0xc4, n);
  if (n < 0x10000) return Uint8Array.of(0xc5, n >> 8, n & 0xff);
  return Uint8Array.of(0xc6, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Bytes a packed string takes. */
export function strSize(s: string): number {
  const n = Buffer.byteLength(s);
  return n + (n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
}

/** Bytes a map or array header takes. */
export function headerSize(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

export function binHeaderSize(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Bytes appended into one growing buffer (each piece is copied in when pushed). */
export class Bytes {
  private buf: Buffer;
  length = 0;

  constructor(sizeHint = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(64, sizeHint));
  }

  /** Appends a copy of `b`; returns where it starts. */
  push(b: Uint8Array): number {
    const at = this.length;
    this.room(b.length).set(b, at);
    this.length = at + b.length;
    return at;
  }

  value(v: unknown): void {
    this.push(pack(v));
  }

  private room(n: number): Buffer {
    const end = this.length + n;
    if (end > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(end, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    return this.buf;
  }

  /** A packed string. */
  str(s: string): void {
    const n = Buffer.byteLength(s);
    const b = this.room(n + 5);
    let at = this.length;
    if (n < 32) b[at++] = 0xa0 | n;
    else if (n < 0x100) {
      b[at++] = 0xd9;
      b[at++] = n;
    } else if (n < 0x10000) {
      b[at++] = 0xda;
      at = b.writeUInt16BE(n, at);
    } else {
      b[at++] = 0xdb;
      at = b.writeUInt32BE(n, at);
    }
    this.length = at + b.write(s, at, n, 'utf8');
  }

  /** A non-negative integer below 2^32. */
  uint(n: number): void {
    const b = this.room(5);
    let at = this.length;
    if (n < 0x80) b[at++] = n;
    else if (n < 0x100) {
      b[at++] = 0xcc;
      b[at++] = n;
    } else if (n < 0x10000) {
      b[at++] = 0xcd;
      at = b.writeUInt16BE(n, at);
    } else {
      b[at++] = 0xce;
      at = b.writeUInt32BE(n, at);
    }
    this.length = at;
  }

  /** A map (0x80/0xde/0xdf) or array (0x90/0xdc/0xdd) header. */
  header(map: boolean, n: number): void {
    const b = this.room(5);
    let at = this.length;
    if (n < 16) b[at++] = (map ? 0x80 : 0x90) | n;
    else if (n < 0x10000) {
      b[at++] = map ? 0xde : 0xdc;
      at = b.writeUInt16BE(n, at);
    } else {
      b[at++] = map ? 0xdf : 0xdd;
      at = b.writeUInt32BE(n, at);
    }
    this.length = at;
  }

  binHeader(n: number): void {
    const b = this.room(5);
    let at = this.length;
    if (n < 0x100) {
      b[at++] = 0xc4;
      b[at++] = n;
    } else if (n < 0x10000) {
      b[at++] = 0xc5;
      at = b.writeUInt16BE(n, at);
    } else {
      b[at++] = 0xc6;
      at = b.writeUInt32BE(n, at);
    }
    this.length = at;
  }

  /**
   * The bytes. `exact`: in an ArrayBuffer of exactly their size (to transfer it to another
   * thread); otherwise possibly a view into a larger one.
   */
  finish(exact = true): Uint8Array {
    if (this.length === this.buf.length) return this.buf;
    if (!exact) return this.buf.subarray(0, this.length);
    const out = new Uint8Array(this.length);
    out.set(this.buf.subarray(0, this.length));
    return out;
  }
}
