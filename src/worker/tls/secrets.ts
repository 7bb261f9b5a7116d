// The SDS secrets of the current snapshot, by name. TLS contexts resolve their secret references
// here and compare the generation on each new connection, so a rotated certificate is picked up
// by the next handshake while established connections keep the one they negotiated with.
import type { SecretSnap } from '../../shared/snapshot.ts';

let current: Record<string, SecretSnap> = {};
let gen = 0;

/** Installs a snapshot's secrets; the generation moves only when some secret changed. */
export function setSecrets(next: Record<string, SecretSnap> | undefined): void {
  const n = next ?? {};
  const names = Object.keys(n);
  let changed = names.length !== Object.keys(current).length;
  for (let i = 0; !changed && i < names.length; i++) changed = current[names[i]]?.hash !== n[names[i]].hash;
  current = n;
  if (!changed) return;
  gen++;
  const w = waiters;
  waiters = [];
  for (const fn of w) fn();
}

let waiters: (() => void)[] = [];

/** Runs `fn` once, on the next secrets change (a handshake waiting for an SDS secret). */
export function onSecretsChange(fn: () => void): void {
  waiters.push(fn);
}

export function getSecret(name: string): SecretSnap | undefined {
  return current[name];
}

export function secretsGeneration(): number {
  return gen;
}
