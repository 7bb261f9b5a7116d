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

export function mapBody(o: object): MapBody {
  const b = pack(o);
  const h = b[0];
  let skip: number;
  let count: number;
  if ((h & 0xf0) === 0x80) [skip, count] = [1, h & 0x0f];
  else if (h === 0xde) [skip, count] = [3, b.readUInt16BE(1)];
  else if (h === 0xdf) [skip, count] = [5, b.readUInt32BE(1)];
  else throw new Error(`expected a msgpack map, got 0x${h.toString(16)}`);
  return { bytes: new Uint8Array(b.subarray(skip)), count };
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

/** A packed msgpack string. */
export function strBytes(s: string): Uint8Array {
  const w = new ByteWriter(strSize(s));
  w.str(s);
  return w.buf;
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

/** Writes msgpack into a buffer of a size computed beforehand (small ones come from Node's pool). */
export class ByteWriter {
  readonly buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s);
    const b = this.buf;
    if (n < 32) b[this.pos++] = 0xa0 | n;
    else if (n < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xda;
      this.pos = b.writeUInt16BE(n, this.pos);
    } else {
      b[this.pos++] = 0xdb;
      this.pos = b.writeUInt32BE(n, this.pos);
    }
    this.pos += b.write(s, this.pos, n, 'utf8');
  }

  /** A map (0x80/0xde/0xdf) or array (0x90/0xdc/0xdd) header. */
  header(map: boolean, n: number): void {
    const b = this.buf;
    if (n < 16) b[this.pos++] = (map ? 0x80 : 0x90) | n;
    else if (n < 0x10000) {
      b[this.pos++] = map ? 0xde : 0xdc;
      this.pos = b.writeUInt16BE(n, this.pos);
    } else {
      b[this.pos++] = map ? 0xdf : 0xdd;
      this.pos = b.writeUInt32BE(n, this.pos);
    }
  }

  binHeader(n: number): void {
    const b = this.buf;
    if (n < 0x100) {
      b[this.pos++] = 0xc4;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xc5;
      this.pos = b.writeUInt16BE(n, this.pos);
    } else {
      b[this.pos++] = 0xc6;
      this.pos = b.writeUInt32BE(n, this.pos);
    }
  }
}

/** Collects byte pieces and joins them once. */
export class Bytes {
  private readonly parts: Uint8Array[] = [];
  length = 0;

  push(b: Uint8Array): number {
    const at = this.length;
    this.parts.push(b);
    this.length += b.length;
    return at;
  }

  value(v: unknown): void {
    this.push(packCopy(v));
  }

  /** The bytes joined; `owned`: in an ArrayBuffer of their own (to transfer it to another thread). */
  finish(owned = false): Uint8Array {
    if (!owned) return Buffer.concat(this.parts, this.length);
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}
