/**
 * Hands out each room's message numbers.
 *
 * The counters live in Redis: one script call per batch spends each sender's send limit and
 * reserves numbers for every room in it, atomically across instances, in a fraction of a
 * millisecond (counters.ts holds the scripts). Reserving them in MongoDB instead
 * ($inc on the room) costs a document update per room per batch, and FerretDB runs those one at
 * a time at a few milliseconds each, which capped the whole stack below 100 messages/s.
 *
 * MongoDB stays the truth. A counter Redis does not have (first use, a flushed Redis), or one it
 * brought back from before a restart, is checked first: raised to the highest number stored for
 * the room. A number that turns out to be taken anyway is refused by the unique (room, seq)
 * index, and the store calls `resync`, which moves the counter past everything stored. While
 * Redis is unreachable, numbers come from MongoDB (highest stored, then counted on in this
 * process); two instances doing that at once can collide, and collisions resolve the same way.
 */
import type { Redis } from "ioredis";
import {
  counterKey,
  createLocalSendLimit,
  headScript,
  legacyKey,
  raiseScript,
  reserveScript,
  runIdReader,
  sendLimitKey,
} from "./counters.js";
import { MessageModel } from "./message.model.js";
import { RoomModel } from "./room.model.js";

/** Who sends into which room: one entry per message of a batch, in the batch's order. */
export type Send = { roomId: string; senderId: string };

/** Messages per sender per window, across every instance (the window starts at the first one). */
export type SendLimit = { points: number; windowMs: number };

/** A send's number, or how long its sender must wait (over the send limit; it got no number). */
export type Reservation = { seq: number } | { retryAfterMs: number };

export type Sequencer = {
  /**
   * Spends each send's point of its sender's limit (when `limit` is given) and reserves
   * consecutive numbers per room for the sends it allows, in their order: one Redis script call.
   */
  reserve(sends: readonly Send[], limit?: SendLimit): Promise<Reservation[]>;
  /** A reserved number was already taken in MongoDB: move the room's counter past what is stored. */
  resync(roomId: string): Promise<void>;
  /**
   * The highest number handed out so far in the room, or undefined when that is not known for
   * sure (Redis unreachable). Every number above it is still to come, so it is published after
   * this answer.
   */
  head(roomId: string): Promise<number | undefined>;
};

export { counterKey, legacyKey, sendLimitKey } from "./counters.js";

/** The highest number MongoDB knows for the room: its stored messages and its written-behind head. */
export async function storedHead(roomId: string): Promise<number> {
  const [last, room] = await Promise.all([
    MessageModel.findOne({ roomId }, { seq: 1 }).sort({ seq: -1 }).lean(),
    RoomModel.findById(roomId, { seq: 1 }).lean(),
  ]);
  return Math.max(last?.seq ?? 0, room?.seq ?? 0);
}

export function createSequencer(redis: Redis): Sequencer {
  // Used only while Redis is unreachable: the next free number per room, as far as this process
  // knows. Redis's counters know nothing of these, so the first call after Redis is back raises
  // them past what this process handed out. The send limit is then counted here, per instance.
  const local = new Map<string, number>();
  const localLimit = createLocalSendLimit();
  const usable = () => redis.status === "ready";
  // Concurrent looks at one room share one answer (and at most one read of MongoDB).
  const looking = new Map<string, Promise<number | undefined>>();
  let catchingUp: Promise<void> | undefined;
  const runs = runIdReader(redis);

  const raise = async (roomId: string, floor: number) => {
    const { id } = await runs.current();
    return Number(await raiseScript(redis, [counterKey(roomId), legacyKey(roomId)], [id, floor]));
  };
  const check = async (roomId: string) => raise(roomId, await storedHead(roomId));

  /** After an outage of Redis (for this process), moves the counters past the numbers it handed out. */
  function raiseLocalCounters(): Promise<void> {
    if (local.size === 0) return Promise.resolve();
    catchingUp ??= (async () => {
      for (const [roomId, next] of [...local]) {
        await raise(roomId, next - 1);
        local.delete(roomId);
      }
    })().finally(() => (catchingUp = undefined));
    return catchingUp;
  }

  async function reserveLocally(sends: readonly Send[], limit: SendLimit | undefined): Promise<Reservation[]> {
    const out: Reservation[] = [];
    for (const send of sends) {
      const wait = limit ? localLimit.spend(send.senderId, limit) : 0;
      if (wait > 0) {
        out.push({ retryAfterMs: wait });
        continue;
      }
      const next = local.get(send.roomId) ?? (await storedHead(send.roomId)) + 1;
      local.set(send.roomId, next + 1);
      out.push({ seq: next });
    }
    return out;
  }

  async function reserveInRedis(sends: readonly Send[], limit: SendLimit | undefined): Promise<Reservation[]> {
    await raiseLocalCounters();
    const rooms = [...new Set(sends.map((s) => s.roomId))];
    const senders = [...new Set(sends.map((s) => s.senderId))];
    const roomAt = new Map(rooms.map((r, i) => [r, i + 1]));
    const senderAt = new Map(senders.map((s, i) => [s, i + 1]));
    const run = await runs.current();
    const answer = (await reserveScript(
      redis,
      [...rooms.map(counterKey), ...senders.map(sendLimitKey)],
      [
        run.id,
        rooms.length,
        limit?.points ?? 0,
        limit?.windowMs ?? 0,
        ...sends.flatMap((s) => [roomAt.get(s.roomId) ?? 0, senderAt.get(s.senderId) ?? 0]),
      ],
    )) as number[];
    // The connection dropped while the call was out: it may have run on a Redis that restarted
    // from an older snapshot under the run id read before. Count from MongoDB instead.
    if (!runs.still(run)) throw new Error("Redis reconnected during the reservation");
    const waits = answer.slice(rooms.length);
    const allowed = (i: number) => (waits[i] ?? 0) === 0;
    const tops = new Map<string, number>();
    await Promise.all(
      rooms.map(async (roomId, r) => {
        const count = sends.filter((s, i) => s.roomId === roomId && allowed(i)).length;
        let top = answer[r] ?? -1;
        if (count === 0) return;
        if (top < 0) {
          await check(roomId);
          top = await redis.hincrby(counterKey(roomId), "n", count);
        }
        tops.set(roomId, top - count);
      }),
    );
    return sends.map((s, i) => {
      if (!allowed(i)) return { retryAfterMs: waits[i] ?? limit?.windowMs ?? 0 };
      const seq = (tops.get(s.roomId) ?? 0) + 1;
      tops.set(s.roomId, seq);
      return { seq };
    });
  }

  return {
    async reserve(sends, limit) {
      if (usable()) {
        try {
          return await reserveInRedis(sends, limit);
        } catch {
          // Redis went away mid-call: numbers it may have handed out stay unused (a gap clients
          // tolerate); count from MongoDB instead.
        }
      }
      return reserveLocally(sends, limit);
    },
    async resync(roomId) {
      local.delete(roomId);
      if (!usable()) return;
      await check(roomId).catch(() => undefined);
    },
    head(roomId) {
      if (!usable()) return Promise.resolve(undefined);
      let pending = looking.get(roomId);
      if (!pending) {
        pending = (async () => {
          await raiseLocalCounters();
          const run = await runs.current();
          const trusted = Number(await headScript(redis, [counterKey(roomId)], [run.id]));
          return trusted >= 0 && runs.still(run) ? trusted : await check(roomId);
        })()
          .catch(() => undefined)
          .finally(() => looking.delete(roomId));
        looking.set(roomId, pending);
      }
      return pending;
    },
  };
}
