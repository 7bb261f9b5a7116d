// Binary addresses as Node reports them (dotted IPv4, compressed lower-case IPv6).
import net from 'node:net';

export function ipv4String(b: Buffer, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

export function ipv6String(b: Buffer, o: number): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + i * 2).toString(16));
  return new net.SocketAddress({ address: g.join(':'), family: 'ipv6' }).address;
}
