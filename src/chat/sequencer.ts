/**
 * Hands out each room's message numbers.
 *
 * The counters live in Redis: one script call per batch spends each sender's send limit and
 * reserves numbers for every room in it, atomically across instances, in a fraction of a
 * millisecond (counters.ts holds the scripts). Reserving them in MongoDB instead ($inc on the
 * room) costs a document update per room per batch (measured: docs/decisions/018).
 *
 * MongoDB stays the truth. A counter Redis does not have (first use, a flushed Redis), or one it
 * brought back from before a restart, is checked first: raised to the highest number stored for
 * the room. A number that turns out to be taken anyway is refused by the unique (room, seq)
 * index, and the store calls `resync`, which moves the counter past everything stored. While
 * Redis is unreachable, numbers come from MongoDB (highest stored, then counted on in this
 * process); two instances doing that at once can collide, and collisions resolve the same way.
 */
import type { Redis } from "ioredis";
import { roomBlockers } from "./blocks.js";
import {
  blocksKey,
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

/**
 * A send's number, or how long its sender must wait (over the send limit), or who blocked whom in
 * its room (it may not be sent): in both of the latter it got no number.
 */
export type Reservation = { seq: number } | { retryAfterMs: number } | { blockedBy: string[] };

export type Sequencer = {
  /**
   * Checks each send's room for blocks, spends each send's point of its sender's limit (when
   * `limit` is given) and reserves consecutive numbers per room for the sends it allows, in their
   * order: one Redis script call (two, and a MongoDB read, for rooms whose blocks Redis does not
   * hold yet; see blocks.ts).
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
    const blockers = await roomBlockers([...new Set(sends.map((s) => s.roomId))]);
    for (const send of sends) {
      const by = blockers.get(send.roomId) ?? [];
      if (by.length > 0) {
        out.push({ blockedBy: by });
        continue;
      }
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
    const out: Reservation[] = [];
    // Rooms whose blocks Redis does not hold get no number in the first call: their blockers are
    // read from MongoDB and their sends go in a second call, which also leaves them in Redis. A
    // change of blocks meanwhile sends them round again; the third time MongoDB's answer is used.
    let todo = sends.map((send, i) => ({ send, i }));
    let known = new Map<string, { gen: string; by: string }>();
    for (let attempt = 1; todo.length > 0; attempt++) {
      const answers = await reserveOnce(
        todo.map((t) => t.send),
        limit,
        known,
      );
      const unknown = new Map<string, string>();
      const again: typeof todo = [];
      todo.forEach((t, j) => {
        const answer = answers.reservations[j];
        if (answer) out[t.i] = answer;
        else {
          unknown.set(t.send.roomId, answers.gens.get(t.send.roomId) ?? "0");
          again.push(t);
        }
      });
      if (again.length === 0) break;
      const blockers = await roomBlockers([...unknown.keys()]);
      known = new Map(
        [...unknown].map(([roomId, gen]) => [
          roomId,
          { gen: attempt >= 2 ? "*" : gen, by: (blockers.get(roomId) ?? []).join(",") },
        ]),
      );
      todo = again;
    }
    return out;
  }

  /** One reservation call; a send whose room's blocks Redis does not hold has no answer. */
  async function reserveOnce(
    sends: readonly Send[],
    limit: SendLimit | undefined,
    known: ReadonlyMap<string, { gen: string; by: string }>,
  ): Promise<{ reservations: Array<Reservation | undefined>; gens: Map<string, string> }> {
    const rooms = [...new Set(sends.map((s) => s.roomId))];
    const senders = [...new Set(sends.map((s) => s.senderId))];
    const roomAt = new Map(rooms.map((r, i) => [r, i + 1]));
    const senderAt = new Map(senders.map((s, i) => [s, i + 1]));
    const run = await runs.current();
    const answer = (await reserveScript(
      redis,
      [...rooms.map(counterKey), ...rooms.map(blocksKey), ...senders.map(sendLimitKey)],
      [
        run.id,
        rooms.length,
        limit?.points ?? 0,
        limit?.windowMs ?? 0,
        ...rooms.flatMap((r) => [known.get(r)?.gen ?? "", known.get(r)?.by ?? ""]),
        ...sends.flatMap((s) => [roomAt.get(s.roomId) ?? 0, senderAt.get(s.senderId) ?? 0]),
      ],
    )) as Array<number | string>;
    // The connection dropped while the call was out: it may have run on a Redis that restarted
    // from an older snapshot under the run id read before. Count from MongoDB instead.
    if (!runs.still(run)) throw new Error("Redis reconnected during the reservation");
    const states = answer.slice(rooms.length, 2 * rooms.length).map(String);
    const waits = answer.slice(2 * rooms.length).map(Number);
    const gens = new Map<string, string>();
    const blockers = new Map<string, string[]>();
    rooms.forEach((roomId, r) => {
      const state = states[r] ?? "?0";
      if (state.startsWith("?")) gens.set(roomId, state.slice(1));
      else blockers.set(roomId, state.slice(1) ? state.slice(1).split(",") : []);
    });
    const allowed = (i: number) => (waits[i] ?? 0) === 0;
    const tops = new Map<string, number>();
    await Promise.all(
      rooms.map(async (roomId, r) => {
        const count = sends.filter((s, i) => s.roomId === roomId && allowed(i)).length;
        let top = Number(answer[r] ?? -1);
        if (count === 0) return;
        if (top < 0) {
          await check(roomId);
          top = await redis.hincrby(counterKey(roomId), "n", count);
        }
        tops.set(roomId, top - count);
      }),
    );
    const reservations = sends.map((s, i): Reservation | undefined => {
      const wait = waits[i] ?? 0;
      if (wait === -2) return undefined;
      if (wait === -1) return { blockedBy: blockers.get(s.roomId) ?? [] };
      if (wait > 0) return { retryAfterMs: wait };
      const seq = (tops.get(s.roomId) ?? 0) + 1;
      tops.set(s.roomId, seq);
      return { seq };
    });
    return { reservations, gens };
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
