/**
 * Duet's store path alone: no sockets, no nginx, no fan-out. Two message stores (the app's own
 * code: number reservation in Redis, encryption, group commit into MongoDB, room activity), as
 * two instances would run them, get messages at the offered rate, scheduled by the clock; the
 * latency is from a message's scheduled time until its write is acknowledged.
 *
 * A message reaches the other member only after it is stored (the ack and the publish both wait
 * for the write), so this is the least any chat step can take at that rate on this machine: it
 * shows how much of the end-to-end latency is the database's.
 *
 * Unlike the rest of the bench, this runs the app's own modules in the bench's process (it is a
 * measurement of one of them), in a process of its own: scripts/bench/store-alone.ts.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { pino } from "pino";
import { build } from "hdr-histogram-js";
import { createMessageStore } from "../../src/chat/message-store.js";
import { createRoomActivity } from "../../src/chat/room-activity.js";
import { fixedRoomKey } from "../../src/chat/rooms.js";
import { counterKey, createSequencer } from "../../src/chat/sequencer.js";
import { SEND_LIMIT } from "../../src/chat/limits.js";
import { treeCpuSeconds } from "./proc.js";
import { MessageModel } from "../../src/chat/message.model.js";

export type FloorStep = {
  rate: number;
  stored: number;
  failed: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Mean messages per insert command. */
  batch: number;
  /** User+system CPU seconds of the database (FerretDB, PostgreSQL's processes) per 1,000 messages. */
  dbCpuPer1k: number;
};

const ms = (us: number) => Math.round(us / 10) / 100;

/**
 * Runs each rate for `seconds` against scratch rooms (ids no real room has; their messages and
 * counters are deleted before and after, so a run cut short leaves nothing behind for long),
 * with the same number of rooms as the chat steps.
 */
export async function measureStoreFloor(
  redis: Redis,
  rooms: number,
  rates: readonly number[],
  seconds: number,
  /** FerretDB's pid, and PostgreSQL's server's when it stands on one. */
  dbPids: readonly number[],
  /** How the stack's apps write to this database (its env: MESSAGE_WRITES_IN_FLIGHT, ROOM_ACTIVITY_PAUSE_MS). */
  writes: { inFlight: number; pauseMs: number },
  log: (line: string) => void,
): Promise<FloorStep[]> {
  const dataKey = randomBytes(32);
  const scratch = Array.from({ length: rooms }, (_, i) => ({
    roomId: `floor-${String(i).padStart(4, "0")}`,
    senders: [String(new mongoose.Types.ObjectId()), String(new mongoose.Types.ObjectId())] as const,
  }));
  const clear = async () => {
    await pruneRoomMessages(scratch.map((r) => r.roomId));
    await redis.del(...scratch.map((r) => counterKey(r.roomId)));
  };
  const quiet = pino({ level: "silent" });
  const instance = () => {
    // As the native stack's apps write (scripts/lib/stack.ts, databaseSettings).
    const activity = createRoomActivity(quiet, { pauseMs: writes.pauseMs });
    const store = createMessageStore({
      keyFor: () => Promise.resolve(fixedRoomKey(dataKey)),
      sequencer: createSequencer(redis),
      activity,
      sendLimit: SEND_LIMIT,
      maxInFlight: writes.inFlight,
    });
    return { store, activity };
  };
  const instances = [instance(), instance()] as const;
  const send = (i: number, clientId: string, text: string) => {
    const room = scratch[i % rooms] ?? scratch[0];
    if (!room) throw new Error("no rooms");
    return instances[i % 2 === 0 ? 0 : 1].store.store({
      roomId: room.roomId,
      senderId: room.senders[i % 2 === 0 ? 0 : 1],
      clientId,
      text,
    });
  };
  // Insert commands, seen by the driver (main connects with monitorCommands): FerretDB's
  // serverStatus has no opcounters.
  const client = mongoose.connection.getClient();
  let inserts = 0;
  const onCommand = (event: { commandName: string }) => void (event.commandName === "insert" && inserts++);
  client.on("commandStarted", onCommand);
  const steps: FloorStep[] = [];
  try {
    // First use of a room checks its counter against MongoDB; that is not what is measured.
    await clear();
    await Promise.all(scratch.map((_, i) => send(i, `w-${i}`, "warm-up")));
    for (const [n, rate] of rates.entries()) {
      const latency = build({
        lowestDiscernibleValue: 1,
        highestTrackableValue: 3_600_000_000,
        numberOfSignificantValueDigits: 3,
      });
      const total = Math.round(rate * seconds);
      const insertsBefore = inserts;
      const dbCpu = () => dbPids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
      const cpuBefore = dbCpu();
      let failed = 0;
      const writes: Array<Promise<void>> = [];
      const start = performance.now() + 20;
      let next = 0;
      await new Promise<void>((resolve) => {
        const tick = () => {
          const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
          for (; next < due; next++) {
            const at = start + (next * 1000) / rate;
            writes.push(
              send(next, `f${n}-${next}`, `t=${at} floor ${next}`).then(
                () => latency.recordValue(Math.max(1, Math.round((performance.now() - at) * 1000))),
                () => void failed++,
              ),
            );
          }
          if (next >= total) resolve();
          else setTimeout(tick, 1);
        };
        setTimeout(tick, 20);
      });
      await Promise.all(writes);
      const dbSeconds = dbCpu() - cpuBefore;
      const batches = inserts - insertsBefore;
      const step: FloorStep = {
        rate,
        stored: total - failed,
        failed,
        p50: ms(latency.getValueAtPercentile(50)),
        p95: ms(latency.getValueAtPercentile(95)),
        p99: ms(latency.getValueAtPercentile(99)),
        max: ms(latency.maxValue),
        batch: Math.round((total / Math.max(1, batches)) * 10) / 10,
        dbCpuPer1k: Math.round((dbSeconds / (total / 1000)) * 1000) / 1000,
      };
      latency.destroy();
      steps.push(step);
      log(
        `store alone @ ${rate}/s: stored ${step.stored}/${total}, p50 ${step.p50} p99 ${step.p99} ms, ${step.batch} per insert, database ${step.dbCpuPer1k} CPU-s/1k`,
      );
    }
  } finally {
    for (const { store, activity } of instances) {
      await store.drain();
      await activity.close();
    }
    client.off("commandStarted", onCommand);
    await clear();
  }
  return steps;
}

/** Deletes every message of these rooms; answers how many. */
async function pruneRoomMessages(roomIds: readonly string[]): Promise<number> {
  // In slices: FerretDB deletes a command's matches in one SQL statement, one variable each, and
  // SQLite refuses more than 32,766 of them ("too many SQL variables").
  const filter = { roomId: { $in: roomIds } };
  let deleted = 0;
  for (;;) {
    const ids = (await MessageModel.find(filter, { _id: 1 }).limit(10_000).lean()).map((m) => m._id);
    if (ids.length === 0) return deleted;
    deleted += (await MessageModel.deleteMany({ _id: { $in: ids } })).deletedCount;
  }
}
