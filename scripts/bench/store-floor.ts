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
import { DURABLE_WRITE, MessageModel } from "../../src/chat/message.model.js";

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
  /** User+system CPU seconds of the two stores (this process, less its pacing of the calls) per 1,000 messages. */
  storeCpuPer1k?: number;
  /**
   * The same, for the MongoDB driver's insert command alone: one document of a sealed message's
   * shape per command, durable, at the same rate, with none of Duet's code (no numbering,
   * encryption, group commit). What storing each message before delivering it costs any server
   * that uses this driver, when messages come too slowly to share an insert.
   */
  driverCpuPer1k?: number;
  /**
   * The same, for Duet's numbering alone: one reservation script call per message (the room's
   * next number, and the room's blocks checked), no send limit spent, nothing stored.
   */
  numberingCpuPer1k?: number;
};

const ms = (us: number) => Math.round(us / 10) / 100;
/**
 * Where the step's message `i` goes, of `rooms` rooms: rooms in turn; the stores take turns
 * message by message, as two instances would; each room's two members take turns from one round
 * of the rooms to the next, so each sends at half the room's rate. (Choosing the sender by
 * `i % 2` gave each room of an even number one sender at the room's whole rate, and a first fix
 * did the same for odd numbers: over the send limit at high rates, whose refusals looked like
 * failed writes.)
 */
export function whoSends(i: number, rooms: number): { room: number; store: 0 | 1; sender: 0 | 1 } {
  return { room: i % rooms, store: i % 2 === 0 ? 0 : 1, sender: Math.floor(i / rooms) % 2 === 0 ? 0 : 1 };
}

/** The scratch collection of the driver-alone pass, dropped after it. */
const DRIVER_ALONE = "bench_driver_alone";

/**
 * Calls `one` `rate` times a second for `seconds`, each at its scheduled time (open loop), and
 * waits for every call. Answers the latency from each scheduled time to its call's end, the
 * failures, and this process's CPU over the whole. Sleeps until the next call is due rather than
 * polling: a timer every millisecond would be CPU charged to what is measured.
 */
async function paced(rate: number, seconds: number, one: (i: number, at: number) => Promise<unknown>) {
  const histogram = build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(rate * seconds);
  let failed = 0;
  // Why the first call that failed did, so a failure is told apart from a slow database.
  let firstFailure: string | undefined;
  const calls: Array<Promise<void>> = [];
  const cpu = process.cpuUsage();
  const start = performance.now() + 20;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      for (; next < due; next++) {
        const at = start + (next * 1000) / rate;
        calls.push(
          one(next, at).then(
            () => histogram.recordValue(Math.max(1, Math.round((performance.now() - at) * 1000))),
            (err: unknown) => {
              failed++;
              firstFailure ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
            },
          ),
        );
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + (next * 1000) / rate - performance.now()));
    };
    setTimeout(tick, 20);
  });
  await Promise.all(calls);
  const used = process.cpuUsage(cpu);
  const latency = {
    p50: ms(histogram.getValueAtPercentile(50)),
    p95: ms(histogram.getValueAtPercentile(95)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
  };
  histogram.destroy();
  return { total, failed, firstFailure, latency, cpuSeconds: (used.user + used.system) / 1e6 };
}

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
    const turn = whoSends(i, rooms);
    const room = scratch[turn.room];
    if (!room) throw new Error("no rooms");
    return instances[turn.store].store.store({ roomId: room.roomId, senderId: room.senders[turn.sender], clientId, text });
  };
  // Insert commands counted as they are sent (FerretDB's serverStatus has no opcounters), by a
  // wrapper rather than the driver's command monitoring: an event per command would be CPU that
  // a running instance does not spend, measured as the store's.
  const db = mongoose.connection.db;
  if (!db) throw new Error("MongoDB is not connected");
  const command = db.command.bind(db);
  let inserts = 0;
  db.command = ((cmd: Parameters<typeof command>[0], options?: Parameters<typeof command>[1]) => {
    if ("insert" in cmd) inserts++;
    return command(cmd, options);
  }) as typeof db.command;
  // The driver alone: documents of a stored message's shape (sizes of a short text's sealed form).
  const [iv, ct, mac] = [randomBytes(16), randomBytes(64), randomBytes(32)];
  const senderId = new mongoose.Types.ObjectId();
  const insertAlone = async (step: number, i: number) => {
    await command({
      insert: DRIVER_ALONE,
      documents: [
        {
          _id: `d${step}-${i}`,
          roomId: "floor-driver",
          seq: i,
          senderId,
          clientId: `d${step}-${i}`,
          kind: "text",
          v: 2,
          keyId: 1,
          iv,
          ct,
          mac,
          createdAt: new Date(),
        },
      ],
      ordered: false,
      writeConcern: DURABLE_WRITE,
    });
  };
  // Numbering alone: the scratch rooms' counters, on a sequencer of its own.
  const numbers = createSequencer(redis);
  const numberAlone = async (i: number) => {
    const turn = whoSends(i, rooms);
    const room = scratch[turn.room];
    if (!room) throw new Error("no rooms");
    const [reservation] = await numbers.reserve([{ roomId: room.roomId, senderId: room.senders[turn.sender] }]);
    if (!reservation || !("seq" in reservation)) throw new Error(`no number: ${JSON.stringify(reservation)}`);
  };

  const dbCpu = () => dbPids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  const steps: FloorStep[] = [];
  try {
    // First use of a room checks its counter against MongoDB; that is not what is measured.
    await clear();
    await Promise.all(scratch.map((_, i) => send(i, `w-${i}`, "warm-up")));
    await insertAlone(-1, 0);
    for (const [n, rate] of rates.entries()) {
      const insertsBefore = inserts;
      const cpuBefore = dbCpu();
      const run = await paced(rate, seconds, (i, at) => send(i, `f${n}-${i}`, `t=${at} floor ${i}`));
      const dbSeconds = dbCpu() - cpuBefore;
      const alone = await paced(rate, seconds, (i) => insertAlone(n, i));
      const numbering = await paced(rate, seconds, (i) => numberAlone(i));
      // This process's own cost of pacing the calls (timers, promises, the histogram), which a
      // server does not have: taken off both figures.
      const pacing = await paced(rate, seconds, () => Promise.resolve());
      const per1k = (cpuSeconds: number) =>
        Math.round((Math.max(0, cpuSeconds - pacing.cpuSeconds) / (run.total / 1000)) * 1000) / 1000;
      const step: FloorStep = {
        rate,
        stored: run.total - run.failed,
        failed: run.failed,
        ...run.latency,
        batch: Math.round((run.total / Math.max(1, inserts - insertsBefore)) * 10) / 10,
        dbCpuPer1k: per1k(dbSeconds),
        storeCpuPer1k: per1k(run.cpuSeconds),
        driverCpuPer1k: per1k(alone.cpuSeconds),
        numberingCpuPer1k: per1k(numbering.cpuSeconds),
      };
      steps.push(step);
      log(
        `store alone @ ${rate}/s: stored ${step.stored}/${run.total}, p50 ${step.p50} p99 ${step.p99} ms, ${step.batch} per insert, ` +
          `stores ${step.storeCpuPer1k}, database ${step.dbCpuPer1k}, driver's insert alone ${step.driverCpuPer1k}, ` +
          `numbering alone ${step.numberingCpuPer1k} CPU-s/1k` +
          (run.firstFailure ? `; the first failure: ${run.firstFailure}` : ""),
      );
    }
  } finally {
    for (const { store, activity } of instances) {
      await store.drain();
      await activity.close();
    }
    db.command = command;
    await db.dropCollection(DRIVER_ALONE).catch(() => undefined);
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
