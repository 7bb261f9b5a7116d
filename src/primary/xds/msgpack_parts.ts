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
  const n = Buffer.byteLength(s);
  const h = n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  const out = new Uint8Array(h + n);
  if (h === 1) out[0] = 0xa0 | n;
  else if (h === 2) out.set([0xd9, n]);
  else if (h === 3) out.set([0xda, n >> 8, n & 0xff]);
  else out.set([0xdb, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  Buffer.from(out.buffer, out.byteOffset + h, n).write(s, 'utf8');
  return out;
}

/** Joins byte pieces into one new array. */
export function join(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
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

  finish(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts, this.length));
  }
}
