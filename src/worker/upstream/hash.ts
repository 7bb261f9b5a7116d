// 32-bit string hashing for consistent-hash load balancing (ring hash, maglev) and route hash
// policies. FNV-1a spreads poorly on short similar keys by itself, so murmur3's 32-bit finalizer
// mixes the result. Keys and ring points use the same function, so only uniformity matters, not
// compatibility with Envoy's xxHash.

export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines policy hashes in order, as Envoy does: rotate the running hash, then xor. */
export function combineHash(acc: number, h: number): number {
  return (((acc << 1) | (acc >>> 31)) ^ h) >>> 0;
}
