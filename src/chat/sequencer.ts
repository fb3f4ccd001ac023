/**
 * Hands out each room's message numbers.
 *
 * The counters live in Redis: one script call per batch reserves numbers for every room in it,
 * atomically across instances, in a fraction of a millisecond. Reserving them in MongoDB instead
 * ($inc on the room) costs a document update per room per batch, and FerretDB runs those one at
 * a time at a few milliseconds each, which capped the whole stack below 100 messages/s.
 *
 * MongoDB stays the truth. A counter Redis does not have (first use, a flushed or restored Redis)
 * starts from the highest number stored for the room; a number that turns out to be taken anyway
 * is refused by the unique (room, seq) index, and the store calls `resync`, which moves the
 * counter past everything stored. While Redis is unreachable, numbers come from MongoDB (highest
 * stored, then counted on in this process); two instances doing that at once can collide, and
 * collisions resolve the same way.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { MessageModel } from "./message.model.js";
import { RoomModel } from "./room.model.js";

export type Sequencer = {
  /** Reserves `count` consecutive numbers per room; answers the first of them per room. */
  reserve(counts: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  /** A reserved number was already taken in MongoDB: move the room's counter past what is stored. */
  resync(roomId: string): Promise<void>;
  /**
   * The highest number handed out so far in the room, or undefined when that is not known for
   * sure (Redis unreachable). Every number above it is still to come, so it is published after
   * this answer.
   */
  head(roomId: string): Promise<number | undefined>;
};

const counterKey = (roomId: string) => `duet:seq:${roomId}`;

// Counters Redis does not hold answer -1, so the caller can start them from MongoDB.
const RESERVE = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then out[i] = redis.call('INCRBY', key, ARGV[i]) else out[i] = -1 end
end
return out`;

// Raises a counter to at least ARGV[1], creating it if missing; never lowers one (other
// instances may be ahead). Answers the counter.
const RAISE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
local floor = tonumber(ARGV[1])
if current < floor then redis.call('SET', KEYS[1], floor) return floor end
return current`;

/** The highest number MongoDB knows for the room: its stored messages and its written-behind head. */
export async function storedHead(roomId: string): Promise<number> {
  const [last, room] = await Promise.all([
    MessageModel.findOne({ roomId }, { seq: 1 }).sort({ seq: -1 }).lean(),
    RoomModel.findById(roomId, { seq: 1 }).lean(),
  ]);
  return Math.max(last?.seq ?? 0, room?.seq ?? 0);
}

/** Runs a Lua script by its hash, sending the body only the first time Redis sees it. */
function script(body: string) {
  const sha = createHash("sha1").update(body).digest("hex");
  return async (redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("NOSCRIPT"))) throw err;
      return redis.eval(body, keys.length, ...keys, ...args);
    }
  };
}
const reserveScript = script(RESERVE);
const raiseScript = script(RAISE);

export function createSequencer(redis: Redis): Sequencer {
  // Used only while Redis is unreachable: the next free number per room, as far as this process knows.
  const local = new Map<string, number>();
  const usable = () => redis.status === "ready";
  // Rooms whose counter was checked against MongoDB since the last (re)connect to Redis.
  const checked = new Set<string>();
  redis.on("ready", () => checked.clear());
  // Concurrent looks at one room share one answer (and at most one read of MongoDB).
  const looking = new Map<string, Promise<number | undefined>>();

  async function reserveLocally(roomId: string, count: number): Promise<number> {
    const next = local.get(roomId) ?? (await storedHead(roomId)) + 1;
    local.set(roomId, next + count);
    return next;
  }

  async function reserveInRedis(counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const rooms = [...counts.keys()];
    const tops = (await reserveScript(
      redis,
      rooms.map(counterKey),
      rooms.map((r) => counts.get(r) ?? 0),
    )) as number[];
    const firsts = new Map<string, number>();
    await Promise.all(
      rooms.map(async (roomId, i) => {
        const count = counts.get(roomId) ?? 0;
        let top = tops[i] ?? -1;
        if (top < 0) {
          await raiseScript(redis, [counterKey(roomId)], [await storedHead(roomId)]);
          top = await redis.incrby(counterKey(roomId), count);
        }
        firsts.set(roomId, top - count + 1);
      }),
    );
    return firsts;
  }

  return {
    async reserve(counts) {
      if (usable()) {
        try {
          const firsts = await reserveInRedis(counts);
          local.clear();
          return firsts;
        } catch {
          // Redis went away mid-call: numbers it may have handed out stay unused (a gap clients
          // tolerate); count from MongoDB instead.
        }
      }
      const firsts = new Map<string, number>();
      for (const [roomId, count] of counts) firsts.set(roomId, await reserveLocally(roomId, count));
      return firsts;
    },
    async resync(roomId) {
      local.delete(roomId);
      if (!usable()) return;
      await raiseScript(redis, [counterKey(roomId)], [await storedHead(roomId)]).catch(() => undefined);
    },
    head(roomId) {
      if (!usable()) return Promise.resolve(undefined);
      let pending = looking.get(roomId);
      if (!pending) {
        pending = (async () => {
          if (checked.has(roomId)) {
            const value = await redis.get(counterKey(roomId));
            if (value !== null) return Number(value);
          }
          // First look at this room since this process (re)connected to Redis: a counter that
          // went back with a Redis restart would hide stored messages, so raise it to MongoDB's.
          const top = Number(await raiseScript(redis, [counterKey(roomId)], [await storedHead(roomId)]));
          checked.add(roomId);
          return top;
        })()
          .catch(() => undefined)
          .finally(() => looking.delete(roomId));
        looking.set(roomId, pending);
      }
      return pending;
    },
  };
}
