/**
 * Emoji reactions: one per member per emoji per message, said with an explicit on or off, so a
 * frame sent twice (a retry, a second tab) changes nothing the second time. The emoji is content
 * and is stored as content is: sealed with the room's key, bound by the MAC to the room, the
 * message, the member and the kind "reaction", so a sealed emoji moved to another message or member
 * does not open. The document's id is a keyed hash of the same, which makes "the same reaction" a
 * primary-key collision without storing which emoji it is. Reactions go out through the hub like
 * edits, and are removed with their message (and with the room).
 */
import { createHmac, hkdfSync } from "node:crypto";
import mongoose from "mongoose";
import { CipherError, openMessage, sealMessage } from "./cipher.js";
import { MessageModel } from "./message.model.js";
import { refusedByBlock, type Actor, type MessagesDeps, type Refusal } from "./messages.js";
import { MAX_REACTIONS_PER_MESSAGE, REACTIONS, type Reaction, type ReactionCount } from "./protocol.js";
import { ReactionModel } from "./reaction.model.js";
import { bytes, ensureKeys, openingKey, sealingKey, type RoomKey } from "./rooms.js";
import { toWire } from "./wire.js";

export const REACTION_KIND = "reaction";

// The tag key comes from the room's first data key, which a room keeps until it is deleted
// (docs/decisions/004): re-keying must not change which document "Alice's 👍 on 7" is.
const tagKeys = new WeakMap<Buffer, Buffer>();
function tagOf(key: RoomKey, roomId: string, seq: number, userId: string, emoji: string): string {
  const first = key.versions[0];
  if (!first) throw new CipherError("the room has no data key");
  let tagKey = tagKeys.get(first.dataKey);
  if (!tagKey) {
    tagKey = Buffer.from(hkdfSync("sha256", first.dataKey, "", "duet reaction id", 32));
    tagKeys.set(first.dataKey, tagKey);
  }
  return createHmac("sha256", tagKey)
    .update(JSON.stringify([roomId, seq, userId, emoji]))
    .digest("base64url");
}

const isReaction = (emoji: string): emoji is Reaction => Object.hasOwn(REACTIONS, emoji);
const reactable = (roomId: string, seq: number) =>
  MessageModel.exists({ roomId, seq, kind: { $in: ["text", "attachment"] } }).then((found) => found !== null);

/** Adds (`on`) or takes back the actor's `emoji` on message `seq`; saying it twice is harmless. */
export async function react(
  deps: Pick<MessagesDeps, "hub" | "blocks">,
  actor: Actor,
  input: { seq: number; emoji: Reaction; on: boolean },
): Promise<{ ok: true } | Refusal> {
  const { roomId, userId, key } = actor;
  const blocked = await refusedByBlock(deps, actor);
  if (blocked) return blocked;
  const notFound: Refusal = { ok: false, code: "not_found", message: "That message is not in this conversation (any more)." };
  const _id = tagOf(key, roomId, input.seq, userId, input.emoji);
  const sealing = sealingKey(key);
  const sealed = sealMessage(
    sealing.dataKey,
    { roomId, seq: input.seq, keyId: sealing.keyId, senderId: userId, kind: REACTION_KIND },
    input.emoji,
  );
  if (input.on) {
    if (!(await reactable(roomId, input.seq))) return notFound;
    const already = await ReactionModel.exists({ _id });
    if (!already && (await ReactionModel.countDocuments({ roomId, seq: input.seq })) >= MAX_REACTIONS_PER_MESSAGE)
      return {
        ok: false,
        code: "too_many",
        message: `A message can carry at most ${MAX_REACTIONS_PER_MESSAGE} reactions.`,
      };
    const { v, keyId, iv, ct, mac } = sealed;
    await ReactionModel.updateOne(
      { _id },
      {
        $setOnInsert: {
          roomId,
          seq: input.seq,
          userId: new mongoose.Types.ObjectId(userId),
          v,
          keyId,
          iv,
          ct,
          mac,
          createdAt: new Date(),
        },
      },
      { upsert: true },
    );
    // Deleted while this was being written: its reactions went with it, this one goes too.
    if (!(await reactable(roomId, input.seq))) {
      await ReactionModel.deleteOne({ _id });
      return notFound;
    }
  } else {
    await ReactionModel.deleteOne({ _id });
  }
  // Announced even when nothing changed: a retry after a lost announcement must still reach the
  // other side, and clients hold reactions as sets, so a repeat changes nothing there either.
  await deps.hub.publish({ type: "reaction", roomId, seq: input.seq, from: userId, on: input.on, sealed: toWire(sealed) });
  return { ok: true };
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

/** The reactions on messages `seqs` of the room, by message number, oldest first per emoji. */
export async function reactionsOn(key: RoomKey, roomId: string, seqs: readonly number[]): Promise<Map<number, ReactionCount[]>> {
  const found = new Map<number, ReactionCount[]>();
  if (seqs.length === 0) return found;
  const docs = await ReactionModel.find({ roomId, seq: { $in: [...seqs] } })
    .sort({ createdAt: 1 })
    .lean();
  await ensureKeys(key, new Set(docs.map((doc) => doc.keyId)));
  for (const doc of docs) {
    const userId = String(doc.userId);
    const emoji = openReaction(
      key,
      { roomId, seq: doc.seq, userId },
      { v: doc.v, keyId: doc.keyId, iv: bytes(doc.iv), ct: bytes(doc.ct), mac: bytes(doc.mac) },
    );
    if (!emoji) continue;
    const counts = found.get(doc.seq) ?? [];
    const count = counts.find((c) => c.emoji === emoji);
    if (count) count.by.push(userId);
    else counts.push({ emoji, by: [userId] });
    found.set(doc.seq, counts);
  }
  return found;
}
