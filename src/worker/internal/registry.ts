// The internal listeners of this worker by name (Envoy's internal listener registry). Workers are
// processes, so each has its own registry: an internal connection never leaves its worker.
import { internalPair, type DynamicMetadata, type InternalSocket } from './internal_socket.ts';
import { log } from '../log.ts';

/** What an internal listener offers the registry. */
export interface InternalAcceptor {
  /** Runs the listener side of a new internal connection through listener filters and a chain. */
  acceptInternal(socket: InternalSocket): void;
}

/** Envoy's default buffer_size_kb (1024 KiB). */
const DEFAULT_BUFFER_BYTES = 1024 * 1024;
const MISSING_LOG_INTERVAL_MS = 1000;

class InternalListenerRegistry {
  bufferBytes = DEFAULT_BUFFER_BYTES;
  private readonly listeners = new Map<string, InternalAcceptor>();
  private readonly missingLogged = new Map<string, number>();

  register(name: string, l: InternalAcceptor): void {
    this.listeners.set(name, l);
  }

  /** Only the registered listener removes itself (a replacement may already have registered). */
  unregister(name: string, l: InternalAcceptor): void {
    if (this.listeners.get(name) === l) this.listeners.delete(name);
  }

  has(name: string): boolean {
    return this.listeners.has(name);
  }

  /**
   * Opens a connection to an internal listener. Like a TCP connect it completes on a later tick:
   * 'connect' once the listener took the other end, or 'error' + 'close' when there is none.
   */
  connect(listenerName: string, endpointId: string, metadata: DynamicMetadata | null): InternalSocket {
    const [client, server] = internalPair(this.bufferBytes, `envoy://${listenerName}/${endpointId}`);
    client.connecting = true;
    server.dynamicMetadata = metadata;
    process.nextTick(accept, this, listenerName, client, server);
    return client;
  }

  lookup(name: string): InternalAcceptor | undefined {
    return this.listeners.get(name);
  }

  logMissing(name: string): void {
    const now = Date.now();
    if (now - (this.missingLogged.get(name) ?? 0) < MISSING_LOG_INTERVAL_MS) return;
    this.missingLogged.set(name, now);
    log.warn({ listener: name }, `internal listener "${name}" not found: connection refused (upstream connect failure)`);
  }
}

function accept(reg: InternalListenerRegistry, name: string, client: InternalSocket, server: InternalSocket): void {
  if (client.destroyed) {
    server.destroy(); // the caller gave up (connect timeout)
    return;
  }
  const l = reg.lookup(name);
  if (l === undefined) {
    reg.logMissing(name);
    server.destroy();
    client.destroy(Object.assign(new Error(`connect ECONNREFUSED internal listener "${name}"`), { code: 'ECONNREFUSED' }));
    return;
  }
  client.connecting = false;
  l.acceptInternal(server);
  client.emit('connect');
}

export const internalListeners = new InternalListenerRegistry();
