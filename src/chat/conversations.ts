/** The conversation list and starting a conversation: plain functions for the chat routes. */
import mongoose from "mongoose";
import { normalizeEmail, UserModel, type User } from "../accounts/user.model.js";
import type { MasterKey } from "./cipher.js";
import { peerProfile, type PeerProfile } from "./deleted-peers.js";
import { decryptStored, type PlainMessage, type Unreadable } from "./history.js";
import { MessageModel } from "./message.model.js";
import { isMutedBy } from "./mute.js";
import { RoomModel } from "./room.model.js";
import { ensureKeys, roomBetween, type RoomKey } from "./rooms.js";

export type StartResult = { ok: true; roomId: string; peerId: string } | { ok: false; reason: "self" | "no_account" };

/** Opens (or finds) the room with whoever owns `email`. Only an exact address finds anyone. */
export async function startConversation(master: MasterKey, me: string, email: string): Promise<StartResult> {
  const other = await UserModel.findOne({ email: normalizeEmail(email), emailVerified: true }, { _id: 1 }).lean();
  if (!other) return { ok: false, reason: "no_account" };
  if (String(other._id) === me) return { ok: false, reason: "self" };
  const roomId = await roomBetween(master, me, String(other._id));
  await RoomModel.updateOne({ _id: roomId }, { $pull: { hiddenFor: new mongoose.Types.ObjectId(me) } });
  return { ok: true, roomId, peerId: String(other._id) };
}

export type ConversationSummary = {
  roomId: string;
  peer: PeerProfile;
  online: boolean;
  unread: number;
  preview: string;
  previewFromMe: boolean;
  lastMessageAt: string | null;
  blocked: boolean;
  /** I turned notifications off for it (mute.ts). */
  muted: boolean;
  /** Archived by me: listed under "Archived". */
  archived: boolean;
};

/** The user's conversations, most recent first, with unread counts and a decrypted preview. */
export async function listConversations(
  socketCounts: (userIds: readonly string[]) => Promise<number[]>,
  keyFor: (roomId: string) => Promise<RoomKey>,
  me: string,
  unreadable: Unreadable,
): Promise<ConversationSummary[]> {
  const myId = new mongoose.Types.ObjectId(me);
  const rooms = await RoomModel.find({ members: myId, hiddenFor: { $ne: myId }, deletedAt: { $exists: false } })
    .sort({ lastMessageAt: -1, updatedAt: -1 })
    .limit(200)
    .lean();
  const peerIds = rooms.map((r) => r.members.map(String).find((m) => m !== me) ?? me);
  const peers = new Map((await UserModel.find({ _id: { $in: peerIds } }).lean<User[]>()).map((u) => [String(u._id), u]));
  const online = await socketCounts(peerIds).catch(() => peerIds.map(() => 0));

  const summaries = await Promise.all(
    rooms.map(async (room, i) => {
      const peerId = peerIds[i] ?? "";
      const peer = peers.get(peerId);
      const reads = (room.readUpTo ?? {}) as Record<string, number>;
      const last = await MessageModel.findOne({ roomId: room._id, kind: { $ne: "void" } })
        .sort({ seq: -1 })
        .lean();
      let preview: PlainMessage | undefined;
      if (last) {
        const key = await keyFor(room._id);
        await ensureKeys(key, [last.keyId]);
        preview = decryptStored(key, room._id, last, unreadable);
      }
      // Unread: the other person's messages after my read marker.
      const unread = await MessageModel.countDocuments({
        roomId: room._id,
        seq: { $gt: reads[me] ?? 0 },
        senderId: { $ne: myId },
        kind: { $in: ["text", "attachment"] },
      });
      return {
        roomId: room._id,
        peer: peerProfile(peerId, peer),
        online: Number(online[i] ?? 0) > 0,
        unread,
        preview: preview
          ? preview.deleted
            ? "Message deleted"
            : preview.unreadable
              ? "This message could not be read"
              : preview.attachment
                ? `📎 ${preview.text || preview.attachment.name}`.slice(0, 120)
                : preview.text.slice(0, 120)
          : "",
        previewFromMe: preview?.from === me,
        // The room's own field is written behind the messages (room-activity.ts); the last message is current.
        lastMessageAt: (last?.createdAt ?? room.lastMessageAt)?.toISOString() ?? null,
        blocked: room.blockedBy.length > 0,
        muted: isMutedBy(room, me),
        archived: (room.archivedBy ?? []).map(String).includes(me),
      };
    }),
  );
  const recency = (c: ConversationSummary) => c.lastMessageAt ?? "";
  return summaries.sort((a, b) => recency(b).localeCompare(recency(a)));
}

/** The room if `me` is a member; undefined otherwise (callers answer 404 either way). */
export async function roomForMember(roomId: string, me: string) {
  if (!/^[A-Za-z0-9_-]{22}$/.test(roomId)) return undefined;
  const room = await RoomModel.findById(roomId).lean();
  return room && !room.deletedAt && room.members.map(String).includes(me) ? room : undefined;
}
