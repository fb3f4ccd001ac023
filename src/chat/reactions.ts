/**
 * Emoji reactions: one per member per emoji per message, said with an explicit on or off, so a
 * frame sent twice (a retry, a second tab) changes nothing the second time. They are kept on the
 * message itself (message.model.ts), sealed by reaction-cipher.ts. A change is written over the
 * version of the list it was made from (compare and swap), so two members reacting at once cannot
 * lose one another's reaction, and the cap holds. FerretDB, the native stack's stand-in, does not
 * apply a conditional update atomically (docs/decisions/012), so a change also holds a short
 * per-message lock in Redis, which every instance shares; without Redis it goes ahead on the
 * compare-and-swap alone (atomic on MongoDB). Reactions go out through the hub like edits, and go
 * with their message's content (the tombstone drops them).
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { redisScript } from "./counters.js";
import { DURABLE_WRITE, MessageModel } from "./message.model.js";
import { refusedByBlock, type Actor, type MessagesDeps, type Refusal } from "./messages.js";
import { MAX_REACTIONS_PER_MESSAGE, type Reaction } from "./protocol.js";
import { reactionId, sealReaction, type StoredReaction } from "./reaction-cipher.js";
import { toWire } from "./wire.js";

const ATTEMPTS = 5;
const LOCK_TTL_MS = 5_000;
// Changes to one message queue here one after another. On FerretDB each reads the message by a
// full scan, so on a loaded machine five quick changes took more than 3 s and the last was
// refused as busy (a CI run's integration test). A reaction that waits is better than one that
// must be sent again; on MongoDB (indexed) a change takes milliseconds.
const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MS = 15;

const BUSY: Refusal = {
  ok: false,
  code: "unavailable",
  message: "That reaction didn't go through (the message was busy). Try again.",
};

/**
 * Runs `change` holding the lock `name`, waiting up to LOCK_WAIT_MS for it. A lock still taken
 * then refuses the change (run without it, FerretDB could lose a reaction); without Redis, the
 * change runs on the compare-and-swap alone.
 */
async function holding<T>(redis: Redis | undefined, name: string, change: () => Promise<T>): Promise<T | Refusal> {
  if (!redis) return change();
  const key = `duet:reaction-lock:${name}`;
  const token = randomBytes(8).toString("hex");
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const answer = await redis.set(key, token, "PX", LOCK_TTL_MS, "NX").catch(() => "unavailable");
    if (answer === "unavailable") return change();
    if (answer === "OK") break;
    if (Date.now() >= until) return BUSY;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  try {
    return await change();
  } finally {
    // Only our own lock: after LOCK_TTL_MS another change may hold it.
    await unlock(redis, [key], [token]).catch(() => undefined);
  }
}
const unlock = redisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);
const REACTABLE = { $in: ["text", "attachment"] as Array<"text" | "attachment"> };

/** Adds (`on`) or takes back the actor's `emoji` on message `seq`; saying it twice is harmless. */
export async function react(
  deps: Pick<MessagesDeps, "hub" | "blocks"> & { redis?: Redis },
  actor: Actor,
  input: { seq: number; emoji: Reaction; on: boolean },
): Promise<{ ok: true } | Refusal> {
  const { roomId, userId, key } = actor;
  const blocked = await refusedByBlock(deps, actor);
  if (blocked) return blocked;
  const place = { roomId, seq: input.seq, userId };
  const id = reactionId(key, place, input.emoji);
  const sealed = sealReaction(key, place, input.emoji);
  const written = await holding(deps.redis, `${roomId}:${input.seq}`, () =>
    writeReaction(roomId, input.seq, id, input.on, () => ({
      id,
      userId: new mongoose.Types.ObjectId(userId),
      v: sealed.v,
      keyId: sealed.keyId,
      iv: sealed.iv,
      ct: sealed.ct,
      mac: sealed.mac,
    })),
  );
  if (written !== "ok") return written;
  // Announced even when nothing changed: a retry after a lost announcement must still reach the
  // other side, and pages hold reactions as sets, so a repeat changes nothing there.
  await deps.hub.publish({ type: "reaction", roomId, seq: input.seq, from: userId, on: input.on, sealed: toWire(sealed) });
  return { ok: true };
}

async function writeReaction(
  roomId: string,
  seq: number,
  id: string,
  on: boolean,
  entry: () => StoredReaction,
): Promise<"ok" | Refusal> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const doc = await MessageModel.findOne({ roomId, seq, kind: REACTABLE }, { reactions: 1, reactionsVersion: 1 }).lean<{
      _id: string;
      reactions?: StoredReaction[];
      reactionsVersion?: number;
    }>();
    if (!doc) return { ok: false, code: "not_found", message: "That message is not in this conversation (any more)." };
    const list = doc.reactions ?? [];
    if (list.some((r) => r.id === id) === on) return "ok";
    if (on && list.length >= MAX_REACTIONS_PER_MESSAGE)
      return { ok: false, code: "too_many", message: `A message can carry at most ${MAX_REACTIONS_PER_MESSAGE} reactions.` };
    const next = on ? [...list, entry()] : list.filter((r) => r.id !== id);
    const version = doc.reactionsVersion;
    // The driver, not mongoose: the entries read back are written back as they are. By `_id`:
    // FerretDB finds a document by `_id` without reading the whole collection (decision 005).
    const updated = await MessageModel.collection.updateOne(
      { _id: doc._id as never, kind: REACTABLE, reactionsVersion: version === undefined ? { $exists: false } : version },
      next.length > 0
        ? { $set: { reactions: next, reactionsVersion: (version ?? 0) + 1 } }
        : { $set: { reactionsVersion: (version ?? 0) + 1 }, $unset: { reactions: "" } },
      { writeConcern: DURABLE_WRITE },
    );
    if (updated.matchedCount === 1) return "ok";
  }
  return BUSY;
}

/** Takes back every reaction `userId` made (their account is being deleted). */
export async function eraseReactionsOf(userId: string): Promise<void> {
  const oid = new mongoose.Types.ObjectId(userId);
  const docs = await MessageModel.find({ "reactions.userId": oid }, { roomId: 1, seq: 1, reactions: 1 }).lean<
    Array<{ roomId: string; seq: number; reactions?: StoredReaction[] }>
  >();
  for (const doc of docs)
    for (const r of doc.reactions ?? [])
      if (String(r.userId) === userId) await writeReaction(doc.roomId, doc.seq, r.id, false, () => r);
}
