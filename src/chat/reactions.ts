/**
 * Emoji reactions: one per member per emoji per message, said with an explicit on or off, so a
 * frame sent twice (a retry, a second tab) changes nothing the second time. They are kept on the
 * message itself (message.model.ts), each emoji sealed as text is: bound by the MAC to the room,
 * the message, the member and the kind "reaction", so a sealed emoji moved to another message or
 * member does not open. An entry's id is a keyed hash of the same, so "is this one there already"
 * needs no decryption and says nothing about which emoji it is. A change is written over the
 * version of the list it was made from (compare and swap), so two members reacting at once cannot
 * lose one another's reaction, and the cap holds. FerretDB (the native stack's stand-in) does not
 * apply a conditional update atomically (ten concurrent compare-and-swaps all "won", three
 * entries stayed), so a change also holds a short per-message lock in Redis, which every instance
 * shares; without Redis it goes ahead on the compare-and-swap alone (atomic on MongoDB). Reactions go out through the hub like edits,
 * and go with their message's content (the tombstone drops them).
 */
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { CipherError, openMessage, sealMessage } from "./cipher.js";
import { redisScript } from "./counters.js";
import { MessageModel } from "./message.model.js";
import { refusedByBlock, type Actor, type MessagesDeps, type Refusal } from "./messages.js";
import { MAX_REACTIONS_PER_MESSAGE, REACTIONS, type Reaction, type ReactionCount } from "./protocol.js";
import { bytes, openingKey, sealingKey, type RoomKey } from "./rooms.js";
import { toWire } from "./wire.js";

export const REACTION_KIND = "reaction";
const ATTEMPTS = 5;
const LOCK_TTL_MS = 5_000;
const LOCK_WAIT_MS = 3_000;
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

type Binary = Buffer | { buffer: Uint8Array };
/** A reaction as the message stores it. */
export type StoredReaction = { id: string; userId: unknown; v: number; keyId: number; iv: Binary; ct: Binary; mac: Binary };

// The id key comes from the room's first data key, which a room keeps until it is deleted
// (docs/decisions/004): re-keying must not change which entry "Alice's 👍 on 7" is.
const idKeys = new WeakMap<Buffer, Buffer>();
function reactionId(key: RoomKey, roomId: string, seq: number, userId: string, emoji: string): string {
  const first = key.versions[0];
  if (!first) throw new CipherError("the room has no data key");
  let idKey = idKeys.get(first.dataKey);
  if (!idKey) {
    idKey = Buffer.from(hkdfSync("sha256", first.dataKey, "", "duet reaction id", 32));
    idKeys.set(first.dataKey, idKey);
  }
  return createHmac("sha256", idKey)
    .update(JSON.stringify([roomId, seq, userId, emoji]))
    .digest("base64url");
}

const isReaction = (emoji: string): emoji is Reaction => Object.hasOwn(REACTIONS, emoji);

/** Adds (`on`) or takes back the actor's `emoji` on message `seq`; saying it twice is harmless. */
export async function react(
  deps: Pick<MessagesDeps, "hub" | "blocks"> & { redis?: Redis },
  actor: Actor,
  input: { seq: number; emoji: Reaction; on: boolean },
): Promise<{ ok: true } | Refusal> {
  const { roomId, userId, key } = actor;
  const blocked = await refusedByBlock(deps, actor);
  if (blocked) return blocked;
  const id = reactionId(key, roomId, input.seq, userId, input.emoji);
  const sealing = sealingKey(key);
  const sealed = sealMessage(
    sealing.dataKey,
    { roomId, seq: input.seq, keyId: sealing.keyId, senderId: userId, kind: REACTION_KIND },
    input.emoji,
  );
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
    // The driver, not mongoose: the entries read back are written back as they are.
    const updated = await MessageModel.collection.updateOne(
      { roomId, seq, kind: REACTABLE, reactionsVersion: version === undefined ? { $exists: false } : version },
      next.length > 0
        ? { $set: { reactions: next, reactionsVersion: (version ?? 0) + 1 } }
        : { $set: { reactionsVersion: (version ?? 0) + 1 }, $unset: { reactions: "" } },
      { writeConcern: { w: "majority", j: true } },
    );
    if (updated.matchedCount === 1) return "ok";
  }
  return BUSY;
}

/** Opens a sealed emoji; undefined when it fails authentication or is not a reaction Duet offers. */
export function openReaction(
  key: RoomKey,
  place: { roomId: string; seq: number; userId: string },
  sealed: { v: number; keyId: number; iv: Buffer; ct: Buffer; mac: Buffer },
): Reaction | undefined {
  try {
    const emoji = openMessage(
      openingKey(key, sealed.keyId),
      { roomId: place.roomId, seq: place.seq, senderId: place.userId, kind: REACTION_KIND },
      sealed,
    );
    return isReaction(emoji) ? emoji : undefined;
  } catch (err) {
    if (err instanceof CipherError) return undefined;
    throw err;
  }
}

/** A message's stored reactions as the page shows them (one that does not open is left out). */
export function countReactions(key: RoomKey, roomId: string, seq: number, stored: readonly StoredReaction[]): ReactionCount[] {
  const counts: ReactionCount[] = [];
  for (const r of stored) {
    const userId = String(r.userId);
    const emoji = openReaction(
      key,
      { roomId, seq, userId },
      { v: r.v, keyId: r.keyId, iv: bytes(r.iv), ct: bytes(r.ct), mac: bytes(r.mac) },
    );
    if (!emoji) continue;
    const count = counts.find((c) => c.emoji === emoji);
    if (count) count.by.push(userId);
    else counts.push({ emoji, by: [userId] });
  }
  return counts;
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
