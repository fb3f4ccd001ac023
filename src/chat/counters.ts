/**
 * The sequencer's state in Redis: the Lua scripts that keep each room's message counter and each
 * sender's send count, and the Redis run id the counters are trusted under. Each script runs
 * atomically, so instances never hand out a number twice within one Redis run.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * A room's counter: a hash of `n`, the last number handed out, and `run`, the Redis run id
 * under which it was last checked against MongoDB or counted on from such a check. A Redis that
 * restarted, perhaps from an older snapshot, has a new run id, so every counter it brought back
 * is checked again before use; within one run a counter only grows (HINCRBY), so it can be
 * trusted with no MongoDB read. That is what keeps a connect, and an app instance's restart,
 * from reading the messages collection per room.
 *
 * The run id is read once per connection (INFO server) and passed to the scripts: a restarted
 * Redis always drops the connection first. Calling INFO inside every script cost a second
 * command and a ~4 KB reply per batch.
 */
export const counterKey = (roomId: string) => `duet:counter:${roomId}`;
// Before run ids, counters were plain strings here; RAISE takes them into account and removes them.
export const legacyKey = (roomId: string) => `duet:seq:${roomId}`;
/** A sender's send count in the current window (the key rate-limiter-flexible used before). */
export const sendLimitKey = (senderId: string) => `duet:rl:send:${senderId}`;

/**
 * A room's blocks as the write path checks them (blocks.ts): a hash of `by` (the blockers' ids,
 * comma-separated; empty for none) and `run` (the Redis run id it was read from MongoDB under),
 * plus `gen`, raised by every change, and `hold`, a time (ms) before which it is not filled
 * again (a change is being written). `by` is trusted only within its run and only while present.
 */
export const blocksKey = (roomId: string) => `duet:blocks:${roomId}`;
/** How long a room's blocks stay in Redis after they were read from MongoDB. */
export const BLOCKS_TTL_MS = 24 * 60 * 60_000;
/** How long a change of blocks may take to reach MongoDB before fills are allowed again. */
export const BLOCKS_HOLD_MS = 30_000;

// blockState(key, run, gen, assumed): the room's blockers ("" for none), or nil and the `gen` to
// pass back with what MongoDB says. An answer read from MongoDB (`assumed`) is used only if no
// change began since the gen it was read after (gen "*": use it regardless); it is kept for
// later calls unless a change is being written.
const BLOCK_STATE = `
local function blockState(key, run, gen, assumed)
  local b = redis.call('HMGET', key, 'run', 'by', 'gen', 'hold')
  if b[1] == run and b[2] then return b[2] end
  local current = b[3] or '0'
  if gen == '*' then return assumed end
  if gen == '' or gen ~= current then return nil, current end
  local t = redis.call('TIME')
  if not b[4] or tonumber(b[4]) < t[1] * 1000 + math.floor(t[2] / 1000) then
    redis.call('HSET', key, 'by', assumed, 'run', run)
    redis.call('PEXPIRE', key, ${BLOCKS_TTL_MS})
  end
  return assumed
end
`;

// KEYS: the batch's room counters, its rooms' blocks, then its senders' limit keys. ARGV: run id,
// number of rooms, limit points (0: no limit), window ms, then per room the gen and blockers
// MongoDB gave ("" and "" when not read), then per send its room's and its sender's position.
// Answers per room the last number reserved (-1: counter not trusted in this run, nothing
// reserved; 0: no send of the room allowed), then per room "=" and its blockers or "?" and the
// gen to read MongoDB after, then per send 0 (allowed), ms to wait, -1 (blocked) or -2 (blocks
// not known: read MongoDB and call again; nothing was spent or reserved for it).
const RESERVE = `${BLOCK_STATE}
local run, rooms, points, window = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local used, spent, counts, out, blocked = {}, {}, {}, {}, {}
for r = 1, rooms do
  local by, gen = blockState(KEYS[rooms + r], run, ARGV[3 + 2 * r], ARGV[4 + 2 * r])
  if by then blocked[r] = by; out[rooms + r] = '=' .. by else out[rooms + r] = '?' .. gen end
end
local first = 5 + 2 * rooms
for i = first, #ARGV, 2 do
  local r, s = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local wait = 0
  if blocked[r] == nil then wait = -2
  elseif blocked[r] ~= '' then wait = -1
  elseif points > 0 then
    if used[s] == nil then used[s] = tonumber(redis.call('GET', KEYS[2 * rooms + s]) or '0') end
    if used[s] < points then
      used[s] = used[s] + 1
      spent[s] = (spent[s] or 0) + 1
    else
      wait = redis.call('PTTL', KEYS[2 * rooms + s])
      if wait < 1 then wait = window end
    end
  end
  if wait == 0 then counts[r] = (counts[r] or 0) + 1 end
  out[2 * rooms + (i - first) / 2 + 1] = wait
end
for s, n in pairs(spent) do
  local key = KEYS[2 * rooms + s]
  if redis.call('INCRBY', key, n) == n or redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
end
for r = 1, rooms do
  if counts[r] == nil then out[r] = 0
  elseif redis.call('HGET', KEYS[r], 'run') == run then out[r] = redis.call('HINCRBY', KEYS[r], 'n', counts[r])
  else out[r] = -1 end
end
return out`;

// One room's blocks for an edit or a delete: KEYS[1] its blocks, ARGV run id, gen, blockers read
// from MongoDB. Answers "=" and the blockers, or "?" and the gen to read MongoDB after.
const BLOCKS = `${BLOCK_STATE}
local by, gen = blockState(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if by then return '=' .. by end
return '?' .. gen`;

// A change of blocks in the rooms KEYS, before (ARGV[1] "begin") and after ("end") it is written
// to MongoDB: what Redis held is dropped and every fill read before the change is refused (gen);
// while the change is being written nothing is filled (hold), so a fill that read MongoDB before
// the write cannot outlive it even if "end" never comes.
const CHANGE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'gen', 1)
  redis.call('HDEL', key, 'by', 'run')
  if ARGV[1] == 'begin' then redis.call('HSET', key, 'hold', now + ${BLOCKS_HOLD_MS}) else redis.call('HDEL', key, 'hold') end
  redis.call('PEXPIRE', key, ${BLOCKS_TTL_MS})
end
return #KEYS`;

const HEAD = `
if redis.call('HGET', KEYS[1], 'run') ~= ARGV[1] then return -1 end
return tonumber(redis.call('HGET', KEYS[1], 'n'))`;

// Raises a counter to at least ARGV[2] (what MongoDB holds) and marks it checked in run ARGV[1];
// never lowers one (other instances may be ahead). A counter left by an older Duet (a plain
// string) counts too, then goes. Answers the counter.
const RAISE = `
local legacy = tonumber(redis.call('GET', KEYS[2]) or '-1')
redis.call('DEL', KEYS[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'n') or '-1')
if current < legacy then current = legacy end
local floor = tonumber(ARGV[2])
if current < floor then current = floor end
redis.call('HSET', KEYS[1], 'n', current, 'run', ARGV[1])
return current`;

/** Runs a Lua script by its hash, sending the body only the first time Redis sees it. */
export function redisScript(body: string) {
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
export const reserveScript = redisScript(RESERVE);
export const headScript = redisScript(HEAD);
export const raiseScript = redisScript(RAISE);
export const blocksScript = redisScript(BLOCKS);
export const changeBlocksScript = redisScript(CHANGE);

/** The run id a call is made under, and the connection it was read on. */
export type Run = { id: string; connection: number };

/**
 * Reads the Redis run id once per connection. A Redis that restarts drops every connection, so a
 * call answered on the connection the id was read on ran under that id; `still` says whether a
 * call that has come back was.
 */
export function runIdReader(redis: Redis) {
  let connection = 0;
  let cached: { connection: number; id: Promise<string> } | undefined;
  redis.on("close", () => {
    connection++;
    cached = undefined;
  });
  return {
    async current(): Promise<Run> {
      if (!cached || cached.connection !== connection) {
        const entry = {
          connection,
          id: redis.info("server").then((info) => {
            const id = /run_id:(\w+)/.exec(info)?.[1];
            if (!id) throw new Error("Redis did not say its run id");
            return id;
          }),
        };
        entry.id.catch(() => {
          if (cached === entry) cached = undefined;
        });
        cached = entry;
      }
      const run = { connection: cached.connection, id: await cached.id };
      if (!this.still(run)) throw new Error("Redis reconnected while its run id was read");
      return run;
    },
    still: (run: Run) => run.connection === connection,
  };
}

/**
 * The send limit counted in this process alone, while Redis is unreachable: each instance
 * keeps its own windows rather than none. Answers 0 when the send may go, or ms to wait.
 */
export function createLocalSendLimit() {
  const windows = new Map<string, { used: number; endsAt: number }>();
  return {
    spend(senderId: string, limit: { points: number; windowMs: number }): number {
      const now = Date.now();
      if (windows.size > 10_000) for (const [id, w] of windows) if (w.endsAt <= now) windows.delete(id);
      let window = windows.get(senderId);
      if (!window || window.endsAt <= now) {
        window = { used: 0, endsAt: now + limit.windowMs };
        windows.set(senderId, window);
      }
      if (window.used >= limit.points) return window.endsAt - now;
      window.used++;
      return 0;
    },
  };
}
