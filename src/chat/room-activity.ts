/**
 * Keeps each room's `lastMessageAt` and `seq` (the highest number stored) in MongoDB, written
 * behind the messages: stored sends are noted here and flushed every interval (30 s), one update
 * per room however many messages it got, and on shutdown. An update per room per batch is what
 * made FerretDB the bottleneck, and even one per active room every 2 s kept it busy 60% of the
 * time under the bench (250 rooms: 1.2 s of updates, each ~4 ms of its CPU, while every insert
 * waited its turn). Nothing depends on these fields being current (the conversation list reads
 * each room's last message, numbers come from the sequencer, whose counters are checked against
 * the messages themselves), and `$max` makes a late or repeated flush harmless.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../logger.js";
import { RoomModel } from "./room.model.js";

/**
 * Updates per bulk-write command. FerretDB 1.24 (SQLite) keeps every statement of an `update`
 * command holding one of its 100 pooled SQLite connections until the whole command ends, and
 * needs one more for each write: a command of 100 or more updates waits on itself forever, and
 * every later command behind it (scripts/bench found it; a 101-statement bulkWrite reproduces
 * it). Small commands, one after another, never come near that; MongoDB does not care.
 */
export const UPDATES_PER_COMMAND = 25;

/**
 * While the app runs, the flush goes a little at a time: SQLite has one writer, and an insert
 * that finds the lock taken sleeps in growing steps (1, 2, 5, 10 ms, …) and tries again, so a
 * long run of updates starved message writes for hundreds of milliseconds (the bench's p99).
 * Two updates (~8 ms on FerretDB), then a pause, leaves the messages room; on shutdown the
 * whole rest is written at once.
 */
const PACED = { updates: 2, pauseMs: 10 };

export type RoomActivity = {
  note(roomId: string, seq: number, at: Date): void;
  /** Writes everything noted so far; what fails stays noted for the next flush. */
  flush(): Promise<void>;
  close(): Promise<void>;
};

export function createRoomActivity(log: Logger, intervalMs = 30_000): RoomActivity {
  let pending = new Map<string, { seq: number; at: Date }>();
  let flushing: Promise<void> | undefined;

  async function write(paced: boolean): Promise<void> {
    if (pending.size === 0) return;
    const rooms = [...pending];
    pending = new Map();
    const size = paced ? PACED.updates : UPDATES_PER_COMMAND;
    for (let i = 0; i < rooms.length; i += size) {
      if (paced && i > 0) await sleep(PACED.pauseMs);
      const chunk = rooms.slice(i, i + size);
      try {
        await RoomModel.bulkWrite(
          chunk.map(([roomId, { seq, at }]) => ({
            updateOne: { filter: { _id: roomId }, update: { $max: { seq, lastMessageAt: at } } },
          })),
          { ordered: false },
        );
      } catch (err) {
        for (const [roomId, value] of chunk) noteInto(pending, roomId, value.seq, value.at);
        log.warn({ err: err instanceof Error ? err.message : err, rooms: chunk.length }, "room activity not written; will retry");
      }
    }
  }

  const flush = (paced = false): Promise<void> => {
    flushing ??= write(paced).finally(() => (flushing = undefined));
    return flushing;
  };
  const timer = setInterval(() => void flush(true), intervalMs);
  timer.unref();

  return {
    note(roomId, seq, at) {
      noteInto(pending, roomId, seq, at);
    },
    async flush() {
      await flushing;
      await flush();
    },
    async close() {
      clearInterval(timer);
      await flushing;
      await flush();
    },
  };
}

function noteInto(into: Map<string, { seq: number; at: Date }>, roomId: string, seq: number, at: Date): void {
  const known = into.get(roomId);
  into.set(roomId, { seq: Math.max(seq, known?.seq ?? 0), at: known && known.at > at ? known.at : at });
}
