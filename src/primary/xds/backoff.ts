// Envoy's jittered exponential back-off for xDS stream retries: the n-th retry waits a random
// time below min(base * 2^n, max), so a fleet of proxies does not reconnect in lock-step.
export class JitteredBackoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(baseMs: number, maxMs: number, random: () => number = Math.random) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.random = random;
  }

  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    // Never 0: a control plane that refuses at once must not be hammered in a loop.
    return Math.max(1, Math.floor(this.random() * ceiling));
  }

  reset(): void {
    this.attempt = 0;
  }
}
