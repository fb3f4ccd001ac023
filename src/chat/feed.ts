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

export function createFeed<M extends { seq: number }>(options: {
  /** The client already has everything up to this number. */
  after: number;
  emit(message: M): void;
  /** Called whenever a number is missing below one that is held. */
  onGap(): void;
}): Feed<M> {
  let next = options.after + 1;
  const held = new Map<number, M | typeof SKIP>();

  const advance = (): void => {
    for (let entry = held.get(next); entry !== undefined; entry = held.get(next)) {
      held.delete(next);
      next++;
      if (entry !== SKIP) options.emit(entry);
    }
    if (held.size > 0) options.onGap();
  };

  const hold = (seq: number, entry: M | typeof SKIP): void => {
    if (seq < next) return;
    // A message beats "never coming" (the claim lost to the real write, or the reverse order).
    if (entry === SKIP && held.has(seq)) return;
    held.set(seq, entry);
    if (seq === next) advance();
    else options.onGap();
  };

  return {
    push: (message) => hold(message.seq, message),
    pass: (seq) => hold(seq, SKIP),
    settle: (seq, message) => hold(seq, message ?? SKIP),
    skipTo(seq) {
      if (seq <= next) return;
      const below = [...held.keys()].filter((at) => at < seq).sort((x, y) => x - y);
      for (const at of below) {
        const entry = held.get(at);
        held.delete(at);
        if (entry !== undefined && entry !== SKIP) options.emit(entry);
      }
      next = seq;
      advance();
    },
    missing() {
      if (held.size === 0) return undefined;
      let to = next;
      while (!held.has(to)) to++;
      return { from: next, to: to - 1 };
    },
    // Methods, not getters: an object literal with a getter is kept in V8's slow dictionary
    // mode (about 500 bytes more per socket, with two such objects per socket: decision 023).
    next: () => next,
  };
}
