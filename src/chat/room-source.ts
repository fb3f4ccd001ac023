/**
 * Where one socket's delivery reads its room (delivery.ts `DeliverySource`): the counter's head,
 * the stored messages for a catch-up, and the lookups of missing numbers (gaps.ts), each opened
 * with the room's key. A class: one per socket, its methods shared (decision 023).
 */
import type { DeliverySource, Settled } from "./delivery.js";
import { settleNumbers } from "./gaps.js";
import { readMessages, type PlainMessage, type Unreadable } from "./history.js";
import type { RoomKey } from "./rooms.js";
import type { Sequencer } from "./sequencer.js";

export type RoomSourceDeps = {
  sequencer: Sequencer;
  unreadable: Unreadable;
  /** Messages read on connect at most. */
  catchUpLimit: number;
  /** Runs a lookup of missing numbers when the instance's share of them allows (concurrency.ts). */
  gapReads: <T>(read: () => Promise<T>) => Promise<T>;
};

export class RoomSource implements DeliverySource {
  constructor(
    private readonly deps: RoomSourceDeps,
    private readonly key: RoomKey,
    private readonly roomId: string,
  ) {}

  head(): Promise<number | undefined> {
    return this.deps.sequencer.head(this.roomId);
  }

  read(after: number): Promise<PlainMessage[]> {
    return readMessages(this.key, this.roomId, { after, limit: this.deps.catchUpLimit }, this.deps.unreadable);
  }

  settle(range: { from: number; to: number }, claim: boolean): Promise<Settled> {
    return this.deps.gapReads(() => settleNumbers(this.key, this.roomId, range, claim, this.deps.unreadable));
  }

  unreadable(seq: number): void {
    this.deps.unreadable({ roomId: this.roomId, seq });
  }
}
