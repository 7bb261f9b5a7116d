// Deadlines for many objects sharing one duration (route timeouts, idle timeouts): an intrusive
// FIFO list with one armed timer. Arming and disarming a deadline allocate nothing, which matters
// on the per-request path; expiry order equals insertion order because the duration is fixed.

export interface TimerNode {
  tPrev: TimerNode | null;
  tNext: TimerNode | null;
  tDeadline: number;
  tList: TimerList | null;
  onTimeout(): void;
}

export class TimerList {
  private head: TimerNode | null = null;
  private tail: TimerNode | null = null;
  private timer: NodeJS.Timeout | null = null;
  private armedFor = 0;
  readonly durationMs: number;

  constructor(durationMs: number) {
    this.durationMs = durationMs;
  }

  add(n: TimerNode, now: number): void {
    if (n.tList !== null) n.tList.remove(n);
    n.tDeadline = now + this.durationMs;
    n.tList = this;
    n.tPrev = this.tail;
    n.tNext = null;
    if (this.tail !== null) this.tail.tNext = n;
    else this.head = n;
    this.tail = n;
    if (this.timer === null) this.arm(n.tDeadline, now);
  }

  remove(n: TimerNode): void {
    if (n.tList !== this) return;
    if (n.tPrev !== null) n.tPrev.tNext = n.tNext;
    else this.head = n.tNext;
    if (n.tNext !== null) n.tNext.tPrev = n.tPrev;
    else this.tail = n.tPrev;
    n.tPrev = n.tNext = null;
    n.tList = null;
    // The armed timer stays; it re-arms for the new head when it fires (cheaper than re-arming now).
  }

  private arm(deadline: number, now: number): void {
    this.armedFor = deadline;
    this.timer = setTimeout(() => this.fire(), Math.max(1, deadline - now));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    const now = Date.now();
    let n = this.head;
    while (n !== null && n.tDeadline <= now) {
      this.remove(n);
      n.onTimeout();
      n = this.head;
    }
    if (n !== null && this.timer === null) this.arm(n.tDeadline, now);
  }
}

const lists = new Map<number, TimerList>();

/** The shared list for a duration; one per distinct configured timeout value in this worker. */
export function timerList(durationMs: number): TimerList {
  let l = lists.get(durationMs);
  if (l === undefined) lists.set(durationMs, (l = new TimerList(durationMs)));
  return l;
}
