/**
 * What a member does to a room's messages, in one place: send, edit, delete, mark read. Every
 * write checks the room's blocks first (blocks.ts), so a blocked member can neither send nor
 * change what they sent. Sends are stored before they are acknowledged (message-store.ts), and
 * published before the acknowledgement goes out, so a sender that sees its ack never leaves a
 * stored message unannounced; a retried send republishes what the first attempt stored.
 */
import mongoose from "mongoose";
import type { Logger } from "../logger.js";
import type { RoomBlocks } from "./blocks.js";
import { sealMessage } from "./cipher.js";
import type { Hub } from "./hub.js";
import { DURABLE_WRITE, MessageModel, messageId } from "./message.model.js";
import type { MessageNotices } from "./notify/notifier.js";
import { SendBlocked, SendLimited, type MessageStore } from "./message-store.js";
import type { ErrorCode } from "./protocol.js";
import { canReplyTo } from "./replies.js";
import { RoomModel } from "./room.model.js";
import { sealingKey, type RoomKey } from "./rooms.js";
import { toWire } from "./wire.js";

export type MessagesDeps = {
  log: Logger;
  hub: Hub;
  store: MessageStore;
  blocks: RoomBlocks;
  /** Removes the file of a deleted attachment message (chat/attachments/); best effort. */
  removeAttachmentOf?: (roomId: string, seq: number) => Promise<void>;
  /** Push notifications (notify/notifier.ts): told of sends and reads, never waited for. */
  notices?: MessageNotices;
};

/** Who acts where: a member of `roomId`, with the room's key, and the room's other member. */
export type Actor = { roomId: string; userId: string; peerId: string; key: RoomKey };

export type Refusal = { ok: false; code: ErrorCode; message: string; retryAfterMs?: number };

// Waiting longer than this for Redis to take a publish would hold the sender's ack hostage to a
// Redis outage; receivers that missed the event fill the gap from MongoDB (gaps.ts).
const PUBLISH_WAIT_MS = 1_000;

// Every change to a stored message is as durable as its send was.
const DURABLE = { writeConcern: DURABLE_WRITE };

// What a deleted message keeps: its number and sender (so nobody sees a gap), no content.
const TOMBSTONE = {
  $set: { kind: "deleted" },
  $unset: { v: 1, keyId: 1, iv: 1, ct: 1, mac: 1, editedAt: 1, replyTo: 1, reactions: 1 },
};

const blockedRefusal = (by: readonly string[], actor: Actor): Refusal => ({
  ok: false,
  code: "blocked",
  message: by.includes(actor.userId)
    ? "You blocked this person. Unblock them to send messages."
    : "You can't send messages in this conversation.",
});

/** Why the actor may not write in the room now (a block), if they may not. */
export async function refusedByBlock(deps: Pick<MessagesDeps, "blocks">, actor: Actor): Promise<Refusal | undefined> {
  const by = await deps.blocks.blockedBy(actor.roomId);
  return by.length === 0 ? undefined : blockedRefusal(by, actor);
}

/** Stores and announces one message; answers its number, or why it was not sent. */
export async function sendMessage(
  deps: MessagesDeps,
  actor: Actor,
  input: { clientId: string; text: string; kind?: "attachment"; replyTo?: number },
): Promise<{ ok: true; seq: number; at: string } | Refusal> {
  const { roomId, userId } = actor;
  const unavailable: Refusal = {
    ok: false,
    code: "unavailable",
    message: "Not sent yet: the server can't store messages right now. It will be retried.",
    retryAfterMs: 3_000,
  };
  if (input.replyTo !== undefined) {
    let answerable;
    try {
      // A resend of a reply stored before its original was deleted is still that reply.
      answerable =
        (await canReplyTo(roomId, input.replyTo)) ||
        (await MessageModel.exists({ _id: messageId(roomId, userId, input.clientId) })) !== null;
    } catch (err) {
      deps.log.warn({ err: err instanceof Error ? err.message : err, roomId }, "could not look up a reply's original");
      return unavailable;
    }
    if (!answerable)
      return {
        ok: false,
        code: "not_found",
        message: `Not sent: message ${input.replyTo} is not in this conversation (any more), so it can't be replied to.`,
      };
  }
  let stored;
  try {
    // Blocks are checked and the send limit spent in the same Redis call that numbers the
    // message (message-store.ts, blocks.ts).
    stored = await deps.store.store({
      roomId,
      senderId: userId,
      clientId: input.clientId,
      text: input.text,
      ...(input.kind ? { kind: input.kind } : {}),
      ...(input.replyTo !== undefined ? { replyTo: input.replyTo } : {}),
    });
  } catch (err) {
    if (err instanceof SendBlocked) return blockedRefusal(err.blockedBy, actor);
    if (err instanceof SendLimited)
      return {
        ok: false,
        code: "rate_limited",
        message: "You're sending too fast. The rest will be sent in a moment.",
        retryAfterMs: Math.max(250, err.retryAfterMs),
      };
    deps.log.warn({ err: err instanceof Error ? err.message : err, roomId }, "message not stored");
    return unavailable;
  }
  const at = stored.createdAt.toISOString();
  if (stored.sealed) {
    const publishing = deps.hub.publish(
      {
        type: "message",
        roomId,
        seq: stored.seq,
        from: userId,
        clientId: input.clientId,
        at,
        sealed: toWire(stored.sealed),
        ...(stored.kind && stored.kind !== "text" ? { kind: stored.kind } : {}),
        ...(stored.replyTo !== undefined ? { replyTo: stored.replyTo } : {}),
      },
      { to: actor.peerId },
    );
    let timer: NodeJS.Timeout | undefined;
    const published = await Promise.race([
      publishing,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), PUBLISH_WAIT_MS))),
    ]);
    clearTimeout(timer);
    // The plaintext goes along in memory only: shown in a push if the recipient opted in.
    deps.notices?.stored(
      { roomId, from: userId, to: actor.peerId, seq: stored.seq, text: input.text, ...(input.kind ? { kind: input.kind } : {}) },
      published,
    );
  }
  return { ok: true, seq: stored.seq, at };
}

/** Replaces the text of one of the actor's own messages. */
export async function editMessage(
  deps: MessagesDeps,
  actor: Actor,
  input: { seq: number; text: string },
): Promise<{ ok: true } | Refusal> {
  const { roomId, userId, key } = actor;
  const blocked = await refusedByBlock(deps, actor);
  if (blocked) return blocked;
  const at = new Date();
  const sealing = sealingKey(key);
  const sealed = sealMessage(
    sealing.dataKey,
    { roomId, seq: input.seq, keyId: sealing.keyId, senderId: userId, editedAt: at.getTime() },
    input.text,
  );
  const updated = await MessageModel.updateOne(
    { roomId, seq: input.seq, senderId: new mongoose.Types.ObjectId(userId), kind: "text" },
    { $set: { v: sealed.v, keyId: sealed.keyId, iv: sealed.iv, ct: sealed.ct, mac: sealed.mac, editedAt: at } },
    DURABLE,
  );
  if (updated.matchedCount === 0) return { ok: false, code: "not_yours", message: "You can only edit your own messages." };
  await deps.hub.publish({ type: "edited", roomId, seq: input.seq, from: userId, at: at.toISOString(), sealed: toWire(sealed) });
  return { ok: true };
}

/** Removes the content of one of the actor's own messages; its number stays. */
export async function deleteMessage(deps: MessagesDeps, actor: Actor, input: { seq: number }): Promise<{ ok: true } | Refusal> {
  const { roomId, userId } = actor;
  const blocked = await refusedByBlock(deps, actor);
  if (blocked) return blocked;
  const updated = await MessageModel.updateOne(
    { roomId, seq: input.seq, senderId: new mongoose.Types.ObjectId(userId), kind: { $ne: "void" } },
    TOMBSTONE,
    DURABLE,
  );
  if (updated.matchedCount === 0) return { ok: false, code: "not_yours", message: "You can only delete your own messages." };
  await deps.hub.publish({ type: "deleted", roomId, seq: input.seq });
  // Gone for both already: its file follows (after the announcement, which must not wait for it).
  await deps
    .removeAttachmentOf?.(roomId, input.seq)
    .catch((err: unknown) =>
      deps.log.warn(
        { err: err instanceof Error ? err.message : err, roomId, seq: input.seq },
        "attachment of a deleted message not removed",
      ),
    );
  return { ok: true };
}

/** Removes the content of every message `userId` wrote (their account is being deleted). */
export async function eraseMessagesOf(userId: string): Promise<void> {
  await MessageModel.updateMany(
    { senderId: new mongoose.Types.ObjectId(userId), kind: { $in: ["text", "attachment"] } },
    TOMBSTONE,
    DURABLE,
  );
}

/** Records that the actor has read everything up to `seq`, and tells the other member. */
export async function markRead(deps: MessagesDeps, actor: Actor, seq: number): Promise<void> {
  await RoomModel.updateOne({ _id: actor.roomId }, { $max: { [`readUpTo.${actor.userId}`]: seq } });
  await deps.hub.publish({ type: "read", roomId: actor.roomId, from: actor.userId, seq });
  deps.notices?.read(actor.roomId, actor.userId);
}

/**
 * How far the room has come, as MongoDB holds it: about its highest stored number (written behind
 * the messages), how far each member has read, and when a message was last written.
 */
export async function roomProgress(
  roomId: string,
): Promise<{ seq: number; readUpTo: Record<string, number>; lastMessageAt: Date | undefined }> {
  const room = await RoomModel.findById(roomId, { seq: 1, readUpTo: 1, lastMessageAt: 1 }).lean();
  return {
    seq: room?.seq ?? 0,
    readUpTo: (room?.readUpTo ?? {}) as Record<string, number>,
    lastMessageAt: room?.lastMessageAt ?? undefined,
  };
}
