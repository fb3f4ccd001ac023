/**
 * The order in which one socket gets a room's messages: strictly by number, each once, none
 * skipped. Messages reach a socket from several places that race (the catch-up read, live events
 * from two instances, a resync after a Redis outage, a retried send republished), and numbers
 * are handed out before their messages are stored, so a number can arrive after a higher one, or
 * belong to a write that failed and never arrive. The feed holds what arrives early and releases
 * it once every lower number is accounted for: delivered, this socket's own (acknowledged
 * instead), or settled as never coming (see gaps.ts). Plain state, no I/O: unit-tested.
 */

/**
 * A run of missing numbers longer than this cannot be writes in flight (a batch holds at most
 * 512 sends per instance): it is a counter moved past a number that damage put far ahead. It
 * is skipped whole, with no markers (a flipped high bit would otherwise cost millions of them).
 */
export const LONGEST_GAP = 10_000;

export type Feed<M extends { seq: number }> = {
  /** A message at its number, from wherever it came; earlier or repeated numbers are dropped. */
  push(message: M): void;
  /** A number this socket accounts for itself (its own acknowledged send): kept in order, not emitted. */
  pass(seq: number): void;
  /** The outcome of a missing number: its message, or undefined when it will never exist. */
  settle(seq: number, message: M | undefined): void;
  /** Every number below `seq` is accounted for (a span no message can fill); held ones go on. */
  skipTo(seq: number): void;
  /** The numbers being waited for (inclusive), or undefined when nothing is held. */
  missing(): { from: number; to: number } | undefined;
  /** The next number to deliver; everything below it has been delivered or accounted for. */
  next(): number;
};

const SKIP = Symbol("skip");

/** Where a feed's messages go, and who hears of a gap. */
export type FeedSink<M> = {
  emit(message: M): void;
  /** Called whenever a number is missing below one that is held. */
  onGap(): void;
};

export function createFeed<M extends { seq: number }>(options: FeedSink<M> & { after: number }): Feed<M> {
  return new OrderedFeed(options.after, options);
}

/**
 * A class, not closures: one feed per socket, and its methods are shared by every one of them
 * (a closure per method per socket was about a kilobyte per idle socket with the delivery's;
 * decision 023).
 */
export class OrderedFeed<M extends { seq: number }> implements Feed<M> {
  private nextSeq: number;
  // Made on the first number that arrives early: most sockets never hold one.
  private held: Map<number, M | typeof SKIP> | undefined;

  /** `after`: the client already has everything up to this number. */
  constructor(
    after: number,
    private readonly sink: FeedSink<M>,
  ) {
    this.nextSeq = after + 1;
  }

  push(message: M): void {
    this.hold(message.seq, message);
  }

  pass(seq: number): void {
    this.hold(seq, SKIP);
  }

  settle(seq: number, message: M | undefined): void {
    this.hold(seq, message ?? SKIP);
  }

  skipTo(seq: number): void {
    if (seq <= this.nextSeq) return;
    const held = this.held;
    const below = held ? [...held.keys()].filter((at) => at < seq).sort((x, y) => x - y) : [];
    for (const at of below) {
      const entry = held?.get(at);
      held?.delete(at);
      if (entry !== undefined && entry !== SKIP) this.sink.emit(entry);
    }
    this.nextSeq = seq;
    this.advance();
  }

  missing(): { from: number; to: number } | undefined {
    const held = this.held;
    if (!held || held.size === 0) return undefined;
    let to = this.nextSeq;
    while (!held.has(to)) to++;
    return { from: this.nextSeq, to: to - 1 };
  }

  next(): number {
    return this.nextSeq;
  }

  private advance(): void {
    const held = this.held;
    if (!held) return;
    for (let entry = held.get(this.nextSeq); entry !== undefined; entry = held.get(this.nextSeq)) {
      held.delete(this.nextSeq);
      this.nextSeq++;
      if (entry !== SKIP) this.sink.emit(entry);
    }
    if (held.size > 0) this.sink.onGap();
  }

  private hold(seq: number, entry: M | typeof SKIP): void {
    if (seq < this.nextSeq) return;
    // The usual case, the next number itself with nothing held: out at once.
    if (seq === this.nextSeq && !this.held?.size) {
      this.nextSeq++;
      if (entry !== SKIP) this.sink.emit(entry);
      return;
    }
    const held = (this.held ??= new Map());
    // A message beats "never coming" (the claim lost to the real write, or the reverse order).
    if (entry === SKIP && held.has(seq)) return;
    held.set(seq, entry);
    if (seq === this.nextSeq) this.advance();
    else this.sink.onGap();
  }
}
