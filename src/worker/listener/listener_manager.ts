// The worker's listeners. A snapshot update keeps listeners whose config hash is unchanged (their
// sockets and connections stay), starts new ones, and drains removed or replaced ones: their
// in-flight requests finish on the old config.
import type { ListenerSnap } from '../../shared/snapshot.ts';
import { Listener } from './listener.ts';
import type { FilterChainContext } from './filter_chain.ts';
import { log } from '../log.ts';

export class ListenerManager {
  private listeners = new Map<string, Listener>();
  private readonly draining = new Set<Listener>();

  async update(snaps: ListenerSnap[], ctx: FilterChainContext): Promise<string[]> {
    const errors: string[] = [];
    const next = new Map<string, Listener>();
    for (const s of snaps) {
      const cur = this.listeners.get(s.name);
      if (cur !== undefined && cur.snap.hash === s.hash) {
        next.set(s.name, cur);
        continue;
      }
      const l = new Listener(s, ctx);
      try {
        await l.listen();
        next.set(s.name, l);
      } catch (err) {
        errors.push(`listener ${s.name} on ${s.address.host}:${s.address.port}: ${(err as Error).message}`);
        if (cur !== undefined) next.set(s.name, cur);
      }
    }
    for (const [name, l] of this.listeners) if (next.get(name) !== l) this.retire(l);
    this.listeners = next;
    for (const e of errors) log.error(e);
    return errors;
  }

  private retire(l: Listener): void {
    this.draining.add(l);
    l.drain();
  }

  drainAll(): void {
    for (const l of this.listeners.values()) this.retire(l);
    this.listeners.clear();
  }

  activeConnections(): number {
    let n = 0;
    for (const l of this.listeners.values()) n += l.activeConnections;
    for (const l of this.draining) n += l.activeConnections;
    return n;
  }
}
