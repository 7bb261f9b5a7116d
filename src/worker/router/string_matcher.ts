// Envoy's StringMatcher, compiled once per config into a predicate.
import type { StringMatchSnap } from '../../shared/snapshot.ts';

export type StringPredicate = (v: string) => boolean;

export function compileStringMatch(m: StringMatchSnap): StringPredicate {
  const ic = m.ignoreCase;
  const want = ic ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case 'exact':
      return ic ? (v) => v.toLowerCase() === want : (v) => v === want;
    case 'prefix':
      return ic ? (v) => v.toLowerCase().startsWith(want) : (v) => v.startsWith(want);
    case 'suffix':
      return ic ? (v) => v.toLowerCase().endsWith(want) : (v) => v.endsWith(want);
    case 'contains':
      return ic ? (v) => v.toLowerCase().includes(want) : (v) => v.includes(want);
    case 'safe_regex': {
      // Envoy's safe_regex must match the whole value.
      const re = new RegExp(`^(?:${m.value})$`, ic ? 'i' : '');
      return (v) => re.test(v);
    }
  }
}
