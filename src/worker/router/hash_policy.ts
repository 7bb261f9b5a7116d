// The route's hash_policy turned into one 32-bit key per request for hashing load balancers
// (ring hash, maglev). Envoy combines the policies in order; a terminal policy that produced a
// value stops the walk.
import type { HashPolicySnap } from '../../shared/snapshot.ts';
import type { ActiveStream } from '../http/active_stream.ts';
import { getHeader } from './header_mutation.ts';

export function hashKey(stream: ActiveStream, policies: HashPolicySnap[]): number | null {
  let key: number | null = null;
  for (const p of policies) {
    const v = policyValue(stream, p);
    if (v === null) continue;
    const h = fnv1a(v);
    key = key === null ? h : (Math.imul(key, 31) + h) >>> 0;
    if (p.terminal) break;
  }
  return key;
}

function policyValue(stream: ActiveStream, p: HashPolicySnap): string | null {
  switch (p.kind) {
    case 'header':
      return getHeader(stream.head.headers, p.name);
    case 'cookie':
      return cookie(getHeader(stream.head.headers, 'cookie'), p.name);
    case 'source_ip':
      return stream.remoteAddress;
    case 'query_parameter': {
      const q = stream.path.indexOf('?');
      return q < 0 ? null : new URLSearchParams(stream.path.slice(q + 1)).get(p.name);
    }
  }
}

function cookie(header: string | null, name: string): string | null {
  if (header === null) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** FNV-1a over UTF-16 code units: fast, well spread for short keys, stable across workers. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
