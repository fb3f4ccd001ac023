/**
 * One socket's share of a room, in number order (docs/decisions/001): messages from the catch-up
 * read, live hub events and resyncs go through the feed (feed.ts); a number missing below a held
 * one is looked up after `lookupMs`, again after twice as long each time it is still missing,
 * and settled for good once it has been missing `settleMs` (gaps.ts reads and marks); an edit, deletion or reaction of a message the socket has not been
 * given yet waits for it; this socket's own sends keep their place without being sent back (the
 * ack tells the client). The reading is passed in, so this is state and timers only: unit-tested.
 */
import { createFeed, LONGEST_GAP } from "./feed.js";
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

export type Delivery = ReturnType<typeof createDelivery>;

export function createDelivery(options: DeliveryOptions) {
  const { send, source } = options;
  // Edits and deletions of a message this socket has not been given yet wait for it.
  const laterChanges = new Map<number, ServerFrame[]>();
  // Client ids of this socket's sends in flight: their hub echo keeps their place in the feed.
  const ownInFlight = new Set<string>();
  let gapTimer: NodeJS.Timeout | undefined;
  let gapSince: number | undefined;
  // Lookups back off: on a database so slow that numbers stay missing, every socket looking
  // every `lookupMs` would add scans to what is already too slow (on FerretDB/SQLite each is a
  // full scan: the bench's stalls of 2026-12-07, decision 019).
  let wait = options.lookupMs;
  let stopped = false;

  const feed = createFeed<PlainMessage>({
    after: options.after,
    emit(message) {
      send({ type: "message", ...message });
      for (const frame of laterChanges.get(message.seq) ?? []) send(frame);
      laterChanges.delete(message.seq);
    },
    onGap() {
      gapSince ??= Date.now();
      lookUpLater();
    },
  });

  function lookUpLater(): void {
    if (!gapTimer && !stopped) gapTimer = setTimeout(() => void settleGap(), wait);
  }

  async function settleGap(): Promise<void> {
    gapTimer = undefined;
    const missing = feed.missing();
    if (!missing || stopped) {
      gapSince = undefined;
      wait = options.lookupMs;
      return;
    }
    const claim = Date.now() - (gapSince ?? Date.now()) >= options.settleMs;
    try {
      const { settled, skipTo } = await source.settle(missing, claim);
      if (skipTo !== undefined) {
        options.log.warn({ from: missing.from, to: skipTo - 1 }, "skipped a span of numbers no message can fill");
        feed.skipTo(skipTo);
      }
      for (const [seq, message] of settled) feed.settle(seq, message);
    } catch (err) {
      options.log.warn({ err: err instanceof Error ? err.message : err }, "could not look up missing messages; will retry");
    }
    if (!feed.missing()) {
      gapSince = undefined;
      wait = options.lookupMs;
      return;
    }
    // Twice as long each time: no later than when the gap is due to be claimed, and after that
    // (the claim failed: the database is away) at most `settleMs` apart.
    const untilClaim = options.settleMs - (Date.now() - (gapSince ?? Date.now()));
    wait = Math.min(wait * 2, untilClaim > 0 ? Math.max(options.lookupMs, untilClaim) : options.settleMs);
    lookUpLater();
  }

  return {
    /** The next number to deliver; everything below it is delivered or accounted for. */
    next: (): number => feed.next(),
    /** Whether `stop` was called (the socket closed): nothing more is delivered or looked up. */
    stopped: (): boolean => stopped,
    /** A message at its number, from wherever it came; earlier or repeated numbers are dropped. */
    push: (message: PlainMessage): void => feed.push(message),
    /** A change to message `seq`: sent now if the socket has the message, else right after it. */
    change(seq: number, frame: ServerFrame): void {
      if (seq < feed.next()) return send(frame);
      laterChanges.set(seq, [...(laterChanges.get(seq) ?? []), frame]);
    },
    /** Reads what is stored after `after` into the feed (on connect, and after a resync). */
    async catchUp(after: number): Promise<void> {
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
        feed.push(message);
      }
    },
    /** This socket is sending `clientId`: its echo from the hub is not sent back. */
    sendStarted: (clientId: string): void => void ownInFlight.add(clientId),
    /** This socket's send was stored as `seq`: the number keeps its place (the ack tells the client). */
    sendStored: (seq: number): void => feed.pass(seq),
    /** The send `clientId` is over, stored or not. */
    sendEnded: (clientId: string): void => void ownInFlight.delete(clientId),
    /** The hub's echo of a send this socket has in flight: it only keeps its place. */
    ownEcho(clientId: string, seq: number): boolean {
      if (!ownInFlight.has(clientId)) return false;
      feed.pass(seq);
      return true;
    },
    stop(): void {
      stopped = true;
      clearTimeout(gapTimer);
    },
  };
}
