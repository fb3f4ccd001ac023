/**
 * Hands out each room's message numbers.
 *
 * The counters live in Redis: one script call per batch reserves numbers for every room in it,
 * atomically across instances, in a fraction of a millisecond. Reserving them in MongoDB instead
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

/**
 * A room's counter: a hash of `n`, the last number handed out, and `run`, the Redis run id
 * (INFO server) under which it was last checked against MongoDB or counted on from such a
 * check. A Redis that restarted, perhaps from an older snapshot, has a new run id, so every
 * counter it brought back is checked again before use; within one run a counter only grows
 * (INCRBY), so it can be trusted with no MongoDB read. That is what keeps a connect, and an
 * app instance's restart, from reading the messages collection per room.
 */
export const counterKey = (roomId: string) => `duet:counter:${roomId}`;
// Before run ids, counters were plain strings here; RAISE takes them into account and removes them.
export const legacyKey = (roomId: string) => `duet:seq:${roomId}`;

const RUN_ID = `local run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')`;

// Counters not trusted in this run answer -1, so the caller can check them against MongoDB.
const RESERVE = `${RUN_ID}
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'run') == run then out[i] = redis.call('HINCRBY', key, 'n', ARGV[i]) else out[i] = -1 end
end
return out`;

const HEAD = `${RUN_ID}
if redis.call('HGET', KEYS[1], 'run') ~= run then return -1 end
return tonumber(redis.call('HGET', KEYS[1], 'n'))`;

// Raises a counter to at least ARGV[1] (what MongoDB holds) and marks it checked in this run;
// never lowers one (other instances may be ahead). A counter left by an older Duet (a plain
// string) counts too, then goes. Answers the counter.
const RAISE = `${RUN_ID}
local legacy = tonumber(redis.call('GET', KEYS[2]) or '-1')
redis.call('DEL', KEYS[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'n') or '-1')
if current < legacy then current = legacy end
local floor = tonumber(ARGV[1])
if current < floor then current = floor end
redis.call('HSET', KEYS[1], 'n', current, 'run', run)
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
const headScript = script(HEAD);
const raiseScript = script(RAISE);

export function createSequencer(redis: Redis): Sequencer {
  // Used only while Redis is unreachable: the next free number per room, as far as this process
  // knows. Redis's counters know nothing of these, so the first call after Redis is back raises
  // them past what this process handed out.
  const local = new Map<string, number>();
  const usable = () => redis.status === "ready";
  // Concurrent looks at one room share one answer (and at most one read of MongoDB).
  const looking = new Map<string, Promise<number | undefined>>();
  let catchingUp: Promise<void> | undefined;

  const raise = (roomId: string, floor: number) =>
    raiseScript(redis, [counterKey(roomId), legacyKey(roomId)], [floor]).then(Number);
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

  async function reserveLocally(roomId: string, count: number): Promise<number> {
    const next = local.get(roomId) ?? (await storedHead(roomId)) + 1;
    local.set(roomId, next + count);
    return next;
  }

  async function reserveInRedis(counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    await raiseLocalCounters();
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
          await check(roomId);
          top = await redis.hincrby(counterKey(roomId), "n", count);
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
          return await reserveInRedis(counts);
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
      await check(roomId).catch(() => undefined);
    },
    head(roomId) {
      if (!usable()) return Promise.resolve(undefined);
      let pending = looking.get(roomId);
      if (!pending) {
        pending = (async () => {
          await raiseLocalCounters();
          const trusted = Number(await headScript(redis, [counterKey(roomId)], []));
          return trusted >= 0 ? trusted : await check(roomId);
        })()
          .catch(() => undefined)
          .finally(() => looking.delete(roomId));
        looking.set(roomId, pending);
      }
      return pending;
    },
  };
}
