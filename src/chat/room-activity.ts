/**
 * Keeps each room's `lastMessageAt` and `seq` (the highest number stored) roughly current in
 * MongoDB, written behind the messages. Only the conversation list's choice of which 200 rooms
 * to load reads them (it then orders by each room's actual last message); numbers come from the
 * sequencer, whose counters are checked against the messages themselves. So a room is written
 * when it becomes active, then at most once per `touchMs` (5 minutes) while it stays active,
 * and whatever is pending on shutdown; `$max` makes a late or repeated write harmless.
 *
 * Writing more often is what held FerretDB back: an update per room per batch capped the stack
 * below 100 messages/s, and even one per active room every 30 s (from both instances, 500
 * updates of ~4 ms each behind SQLite's one writer lock) stalled message inserts for seconds.
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
 * While the app runs, writes go a little at a time: SQLite has one writer, and an insert that
 * finds the lock taken sleeps in growing steps (1, 2, 5, 10 ms, …) before it tries again, so a
 * long run of updates starves message writes. One update (~4 ms on FerretDB), then a pause; on
 * shutdown the rest is written at once.
 */
const PACED = { updates: 1, pauseMs: 20 };

export type RoomActivity = {
  note(roomId: string, seq: number, at: Date): void;
  /**
   * The room's activity as MongoDB holds it (read anyway on connect): written at `at`, so a room
   * written within `touchMs` need not be written again when it becomes active here.
   */
  seen(roomId: string, at: Date): void;
  /** Writes everything noted so far, however recent; what fails stays noted for the next flush. */
  flush(): Promise<void>;
  close(): Promise<void>;
};

type Activity = { seq: number; at: Date };

export function createRoomActivity(log: Logger, options: { intervalMs?: number; touchMs?: number } = {}): RoomActivity {
  const intervalMs = options.intervalMs ?? 2_000;
  const touchMs = options.touchMs ?? 5 * 60_000;
  const pending = new Map<string, Activity>();
  // When each room was last written from here; a room active again within `touchMs` waits.
  const written = new Map<string, number>();
  let flushing: Promise<void> | undefined;

  async function write(paced: boolean): Promise<void> {
    const now = Date.now();
    for (const [roomId, at] of written) if (now - at >= touchMs) written.delete(roomId);
    const due = [...pending].filter(([roomId]) => !paced || !written.has(roomId));
    for (const [roomId] of due) pending.delete(roomId);
    const size = paced ? PACED.updates : UPDATES_PER_COMMAND;
    for (let i = 0; i < due.length; i += size) {
      if (paced && i > 0) await sleep(PACED.pauseMs);
      const chunk = due.slice(i, i + size);
      try {
        await RoomModel.bulkWrite(
          chunk.map(([roomId, { seq, at }]) => ({
            updateOne: { filter: { _id: roomId }, update: { $max: { seq, lastMessageAt: at } } },
          })),
          { ordered: false },
        );
        for (const [roomId] of chunk) written.set(roomId, now);
      } catch (err) {
        for (const [roomId, value] of chunk) noteInto(pending, roomId, value);
        log.warn({ err: err instanceof Error ? err.message : err, rooms: chunk.length }, "room activity not written; will retry");
      }
    }
  }

  const flush = (paced: boolean): Promise<void> => {
    flushing ??= write(paced).finally(() => (flushing = undefined));
    return flushing;
  };
  const timer = setInterval(() => void flush(true), intervalMs);
  timer.unref();

  return {
    note(roomId, seq, at) {
      noteInto(pending, roomId, { seq, at });
    },
    seen(roomId, at) {
      const time = Math.min(at.getTime(), Date.now());
      if (Date.now() - time < touchMs && (written.get(roomId) ?? 0) < time) written.set(roomId, time);
    },
    async flush() {
      await flushing;
      await flush(false);
    },
    async close() {
      clearInterval(timer);
      await flushing;
      await flush(false);
    },
  };
}

function noteInto(into: Map<string, Activity>, roomId: string, value: Activity): void {
  const known = into.get(roomId);
  into.set(roomId, { seq: Math.max(value.seq, known?.seq ?? 0), at: known && known.at > value.at ? known.at : value.at });
}
