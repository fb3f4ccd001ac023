/**
 * One socket's share of a room, in number order (docs/decisions/001): messages from the catch-up
 * read, live hub events and resyncs go through the feed (feed.ts); a number missing below a held
 * one is looked up after `lookupMs`, again after twice as long each time it is still missing,
 * and settled for good once it has been missing `settleMs` (gaps.ts reads and marks); an edit, deletion or reaction of a message the socket has not been
 * given yet waits for it; this socket's own sends keep their place without being sent back (the
 * ack tells the client). The reading is passed in, so this is state and timers only: unit-tested.
 */
import { LONGEST_GAP, OrderedFeed, type FeedSink } from "./feed.js";
import type { PlainMessage, ServerFrame } from "./protocol.js";

/** What a lookup of missing numbers found (gaps.ts `settleNumbers`). */
export type Settled = { settled: Map<number, PlainMessage | undefined>; skipTo?: number };

/** Where the delivery reads the room from. */
export type DeliverySource = {
  /** The newest number handed out, if the counter knows it. */
  head(): Promise<number | undefined>;
  /** Stored messages after `after`, oldest first (at most a catch-up's worth). */
  read(after: number): Promise<PlainMessage[]>;
  /** Settles what it can of [from, to]; with `claim`, every number still missing. */
  settle(range: { from: number; to: number }, claim: boolean): Promise<Settled>;
  /** Told of a stored number that damage put out of reach. */
  unreadable(seq: number): void;
};

export type DeliveryOptions = {
  /** The client already has everything up to this number. */
  after: number;
  send(frame: ServerFrame): void;
  source: DeliverySource;
  /** How long a missing number may be in flight before it is looked up, then settled for good. */
  lookupMs: number;
  settleMs: number;
  log: { warn(details: object, message: string): void };
};

export function createDelivery(options: DeliveryOptions): Delivery {
  return new Delivery(options);
}

/**
 * A class, not closures: one per socket, its methods shared by all of them (decision 023). What
 * most sockets never use (changes waiting for their message, sends in flight) is made on first use.
 */
export class Delivery {
  private readonly feed: OrderedFeed<PlainMessage>;
  // Edits and deletions of a message this socket has not been given yet wait for it.
  private laterChanges: Map<number, ServerFrame[]> | undefined;
  // Client ids of this socket's sends in flight: their hub echo keeps their place in the feed.
  private ownInFlight: Set<string> | undefined;
  private gapTimer: NodeJS.Timeout | undefined;
  private gapSince: number | undefined;
  // Lookups back off: on a database so slow that numbers stay missing, every socket looking
  // every `lookupMs` would add scans to what is already too slow (on FerretDB/SQLite each is a
  // full scan: the bench's stalls of 2026-12-07, decision 019).
  private wait: number;
  private isStopped = false;

  constructor(private readonly options: DeliveryOptions) {
    this.wait = options.lookupMs;
    this.feed = new OrderedFeed(options.after, new FeedToSocket(this));
  }

  /** The next number to deliver; everything below it is delivered or accounted for. */
  next(): number {
    return this.feed.next();
  }

  /** Whether `stop` was called (the socket closed): nothing more is delivered or looked up. */
  stopped(): boolean {
    return this.isStopped;
  }

  /** A message at its number, from wherever it came; earlier or repeated numbers are dropped. */
  push(message: PlainMessage): void {
    this.feed.push(message);
  }

  /** A change to message `seq`: sent now if the socket has the message, else right after it. */
  change(seq: number, frame: ServerFrame): void {
    if (seq < this.feed.next()) return this.options.send(frame);
    const later = (this.laterChanges ??= new Map());
    later.set(seq, [...(later.get(seq) ?? []), frame]);
  }

  /** Reads what is stored after `after` into the feed (on connect, and after a resync). */
  async catchUp(after: number): Promise<void> {
    const { source } = this.options;
    // Reading stored messages is the costly part of a connect; skip it when nothing newer exists.
    const head = await source.head();
    if (head !== undefined && head <= after) return;
    for (const message of await source.read(after)) {
      // A stored number far beyond what the counter has handed out was put there by damage: the
      // history shows it (unreadable: the MAC binds the number); the live feed must not wait for
      // the span below it. (Numbers handed out since `head` was read are at most a few batches.)
      if (head !== undefined && message.seq > head + LONGEST_GAP) {
        source.unreadable(message.seq);
        continue;
      }
      this.feed.push(message);
    }
  }

  /** This socket is sending `clientId`: its echo from the hub is not sent back. */
  sendStarted(clientId: string): void {
    (this.ownInFlight ??= new Set()).add(clientId);
  }

  /** This socket's send was stored as `seq`: the number keeps its place (the ack tells the client). */
  sendStored(seq: number): void {
    this.feed.pass(seq);
  }

  /** The send `clientId` is over, stored or not. */
  sendEnded(clientId: string): void {
    this.ownInFlight?.delete(clientId);
  }

  /** The hub's echo of a send this socket has in flight: it only keeps its place. */
  ownEcho(clientId: string, seq: number): boolean {
    if (!this.ownInFlight?.has(clientId)) return false;
    this.feed.pass(seq);
    return true;
  }

  stop(): void {
    this.isStopped = true;
    clearTimeout(this.gapTimer);
  }

  /** Called by the feed only: it let `message` out; to the socket, then the changes that waited for it. */
  emitted(message: PlainMessage): void {
    const { send } = this.options;
    send({ type: "message", ...message });
    const later = this.laterChanges?.get(message.seq);
    if (!later) return;
    for (const frame of later) send(frame);
    this.laterChanges?.delete(message.seq);
  }

  /** Called by the feed only: it holds a number above a missing one. */
  gapped(): void {
    this.gapSince ??= Date.now();
    this.lookUpLater();
  }

  private lookUpLater(): void {
    if (!this.gapTimer && !this.isStopped) this.gapTimer = setTimeout(() => void this.settleGap(), this.wait);
  }

  private async settleGap(): Promise<void> {
    const { options, feed } = this;
    this.gapTimer = undefined;
    const missing = feed.missing();
    if (!missing || this.isStopped) {
      this.gapSince = undefined;
      this.wait = options.lookupMs;
      return;
    }
    const claim = Date.now() - (this.gapSince ?? Date.now()) >= options.settleMs;
    try {
      const { settled, skipTo } = await options.source.settle(missing, claim);
      if (skipTo !== undefined) {
        options.log.warn({ from: missing.from, to: skipTo - 1 }, "skipped a span of numbers no message can fill");
        feed.skipTo(skipTo);
      }
      for (const [seq, message] of settled) feed.settle(seq, message);
    } catch (err) {
      options.log.warn({ err: err instanceof Error ? err.message : err }, "could not look up missing messages; will retry");
    }
    if (!feed.missing()) {
      this.gapSince = undefined;
      this.wait = options.lookupMs;
      return;
    }
    // Twice as long each time: no later than when the gap is due to be claimed, and after that
    // (the claim failed: the database is away) at most `settleMs` apart.
    const untilClaim = options.settleMs - (Date.now() - (this.gapSince ?? Date.now()));
    this.wait = Math.min(this.wait * 2, untilClaim > 0 ? Math.max(options.lookupMs, untilClaim) : options.settleMs);
    this.lookUpLater();
  }
}

/** The feed's sink (the feed knows only emit and onGap): one small object that points back. */
class FeedToSocket implements FeedSink<PlainMessage> {
  constructor(private readonly delivery: Delivery) {}

  emit(message: PlainMessage): void {
    this.delivery.emitted(message);
  }

  onGap(): void {
    this.delivery.gapped();
  }
}
