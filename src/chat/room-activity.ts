/**
 * Keeps each room's `lastMessageAt` and `seq` (the highest number stored) roughly current in
 * MongoDB, written behind the messages. Only the conversation list's choice of which 200 rooms
 * to load reads them (it then orders by each room's actual last message); numbers come from the
 * sequencer, whose counters are checked against the messages themselves. So a room is written
 * when it becomes active, then at most once per `touchMs` (5 minutes) while it stays active,
 * and whatever is pending on shutdown; `$max` makes a late or repeated write harmless. Every
 * write competes with message inserts, and on FerretDB more often stalled them (measured in
 * docs/benchmarks.md, "What that bench found").
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../logger.js";
import { RoomModel } from "./room.model.js";

/**
 * Updates per bulk-write command: FerretDB 1.24 deadlocks on a command of 100 or more
 * (docs/benchmarks.md); small commands never come near that, and MongoDB does not mind them.
 */
export const UPDATES_PER_COMMAND = 25;

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

export function createRoomActivity(
  log: Logger,
  options: {
    intervalMs?: number;
    touchMs?: number;
    /**
     * While the app runs: one update per command, with this pause between them (0: commands of
     * UPDATES_PER_COMMAND, no pause). For a database with one writer (config.roomActivityPauseMs).
     */
    pauseMs?: number;
  } = {},
): RoomActivity {
  const intervalMs = options.intervalMs ?? 2_000;
  const touchMs = options.touchMs ?? 5 * 60_000;
  const pauseMs = options.pauseMs ?? 0;
  const pending = new Map<string, Activity>();
  // When each room was last written from here; a room active again within `touchMs` waits.
  const written = new Map<string, number>();
  let flushing: Promise<void> | undefined;

  // `running`: the periodic flush, which skips rooms written lately and goes paced; otherwise
  // (shutdown, an explicit flush) everything pending is written at once.
  async function write(running: boolean): Promise<void> {
    const now = Date.now();
    for (const [roomId, at] of written) if (now - at >= touchMs) written.delete(roomId);
    const due = [...pending].filter(([roomId]) => !running || !written.has(roomId));
    for (const [roomId] of due) pending.delete(roomId);
    const paced = running && pauseMs > 0;
    const size = paced ? 1 : UPDATES_PER_COMMAND;
    for (let i = 0; i < due.length; i += size) {
      if (paced && i > 0) await sleep(pauseMs);
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

  const flush = (running: boolean): Promise<void> => {
    flushing ??= write(running).finally(() => (flushing = undefined));
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
