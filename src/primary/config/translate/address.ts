// envoy.config.core.v3.Address: only TCP socket addresses can be served.
import { isIP } from 'node:net';
import type { SocketAddress } from '../../../shared/snapshot.ts';
import { checkRest, join, num, obj, str, type Ctx, type Obj } from './context.ts';

export interface AddressOptions {
  /** Listeners and STATIC endpoints need an IP literal; DNS clusters take host names. */
  requireIp: boolean;
}

/** The socket address of an Address, or null (with an error) when it cannot be used. */
export function socketAddress(a: Obj, path: string, ctx: Ctx, opts: AddressOptions): SocketAddress | null {
  checkRest(ctx, a, path, ['socket_address'], {
    pipe: 'unix domain socket addresses are not supported',
    envoy_internal_address: 'internal addresses are not supported',
  });
  if (a.socket_address === undefined) {
    if (a.pipe === undefined && a.envoy_internal_address === undefined) ctx.issues.error(path, 'socket_address is required');
    return null;
  }
  const sp = join(path, 'socket_address');
  const s = obj(a.socket_address);
  // ipv4_compat is accepted: Node's IPv6 sockets are dual-stack, which is what it asks for.
  checkRest(ctx, s, sp, ['address', 'port_value', 'protocol', 'ipv4_compat'], {
    named_port: 'named ports are not supported; use port_value',
    resolver_name: 'custom resolvers are not supported',
  });
  if (str(s.protocol, 'TCP') !== 'TCP') ctx.issues.error(join(sp, 'protocol'), 'only TCP is supported');
  const host = str(s.address);
  if (opts.requireIp && host !== '' && isIP(host) === 0) {
    ctx.issues.error(join(sp, 'address'), `"${host}" is not an IP address (STATIC clusters and listeners need IP literals; use a STRICT_DNS or LOGICAL_DNS cluster for host names)`);
    return null;
  }
  return { host, port: num(s.port_value, 0) };
}

/** envoy_internal_address of an Address: the internal listener an endpoint connects to. */
export function internalAddress(a: Obj, path: string, ctx: Ctx): { serverListenerName: string; endpointId: string } | null {
  const ip = join(path, 'envoy_internal_address');
  const i = obj(a.envoy_internal_address);
  checkRest(ctx, i, ip, ['server_listener_name', 'endpoint_id']);
  const serverListenerName = str(i.server_listener_name);
  if (serverListenerName === '') {
    ctx.issues.error(join(ip, 'server_listener_name'), 'is required');
    return null;
  }
  return { serverListenerName, endpointId: str(i.endpoint_id) };
}

/** Envoy's address string: `1.2.3.4:80`, `[::1]:80`. */
export function addressString(a: SocketAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** Envoy's default listener stat prefix: the address with ':' made '_' (`0.0.0.0_80`, `[__]_80`). */
export function addressStatName(a: SocketAddress): string {
  return addressString(a).replace(/:/g, '_');
}
