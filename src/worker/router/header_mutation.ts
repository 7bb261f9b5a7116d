// request/response_headers_to_add/remove from route, virtual host and route config, merged once
// per route into a single list applied in Envoy's order.
import type { HeaderMutationSnap, HeaderValueOptionSnap } from '../../shared/snapshot.ts';
import { compileHeaderValue, type FormatContext, type HeaderValue } from './formatter.ts';

interface AddOp {
  name: string;
  value: HeaderValue;
  action: HeaderValueOptionSnap['action'];
  keepEmpty: boolean;
}

export class HeaderMutation {
  readonly removes: string[];
  readonly adds: AddOp[];
  readonly empty: boolean;

  constructor(removes: string[], adds: AddOp[]) {
    this.removes = removes;
    this.adds = adds;
    this.empty = removes.length === 0 && adds.length === 0;
  }

  /** Levels most specific first (route, vhost, route config). */
  static merge(levels: HeaderMutationSnap[], side: 'request' | 'response', mostSpecificWins: boolean): HeaderMutation {
    // Envoy applies the least specific level last unless most_specific_header_mutations_wins.
    const ordered = mostSpecificWins ? [...levels].reverse() : levels;
    const removes: string[] = [];
    const adds: AddOp[] = [];
    for (const l of ordered) {
      for (const r of side === 'request' ? l.requestToRemove : l.responseToRemove) removes.push(r);
      for (const a of side === 'request' ? l.requestToAdd : l.responseToAdd) {
        adds.push({ name: a.name, value: compileHeaderValue(a.value), action: a.action, keepEmpty: a.keepEmptyValue });
      }
    }
    return new HeaderMutation(removes, adds);
  }

  /** Mutates a flat [name, value, …] list in place. */
  apply(h: string[], ctx: FormatContext): void {
    for (let i = 0; i < this.removes.length; i++) removeHeader(h, this.removes[i]);
    for (let i = 0; i < this.adds.length; i++) {
      const a = this.adds[i];
      const v = typeof a.value === 'string' ? a.value : a.value(ctx);
      if (v === '' && !a.keepEmpty) continue;
      applyAdd(h, a, v);
    }
  }
}

function applyAdd(h: string[], a: AddOp, v: string): void {
  switch (a.action) {
    case 'append_if_exists_or_add':
      h.push(a.name, v);
      return;
    case 'add_if_absent':
      if (indexOfHeader(h, a.name) < 0) h.push(a.name, v);
      return;
    case 'overwrite_if_exists_or_add':
      removeHeader(h, a.name);
      h.push(a.name, v);
      return;
    case 'overwrite_if_exists':
      if (indexOfHeader(h, a.name) >= 0) {
        removeHeader(h, a.name);
        h.push(a.name, v);
      }
      return;
  }
}

export function indexOfHeader(h: string[], name: string): number {
  for (let i = 0; i < h.length; i += 2) if (h[i] === name) return i;
  return -1;
}

export function getHeader(h: string[], name: string): string | null {
  const i = indexOfHeader(h, name);
  return i < 0 ? null : h[i + 1];
}

export function removeHeader(h: string[], name: string): void {
  let w = 0;
  for (let r = 0; r < h.length; r += 2) {
    if (h[r] === name) continue;
    if (w !== r) {
      h[w] = h[r];
      h[w + 1] = h[r + 1];
    }
    w += 2;
  }
  h.length = w;
}

export function setHeader(h: string[], name: string, value: string): void {
  const i = indexOfHeader(h, name);
  if (i < 0) h.push(name, value);
  else {
    h[i + 1] = value;
    removeFrom(h, name, i + 2);
  }
}

function removeFrom(h: string[], name: string, from: number): void {
  for (let r = from; r < h.length; r += 2) {
    if (h[r] === name) {
      h.splice(r, 2);
      r -= 2;
    }
  }
}
