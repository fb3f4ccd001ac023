/** The conversation list and starting a conversation: plain functions for the chat routes. */
import mongoose from "mongoose";
import { normalizeEmail, UserModel, type User } from "../accounts/user.model.js";
import type { MasterKey } from "./cipher.js";
import { peerProfile, type PeerProfile } from "./deleted-peers.js";
import { decryptStored, type PlainMessage, type Unreadable } from "./history.js";
import { isMutedBy } from "./mute.js";
import { RoomModel } from "./room.model.js";
import type { Summaries } from "./summaries.js";
import { ensureKeys, isRoomId, roomBetween, type RoomKey } from "./rooms.js";

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
  deps: {
    socketCounts: (userIds: readonly string[]) => Promise<number[]>;
    keyFor: (roomId: string) => Promise<RoomKey>;
    summaries: Summaries;
    unreadable: Unreadable;
  },
  me: string,
): Promise<ConversationSummary[]> {
  const myId = new mongoose.Types.ObjectId(me);
  const rooms = await RoomModel.find({ members: myId, hiddenFor: { $ne: myId }, deletedAt: { $exists: false } })
    .sort({ lastMessageAt: -1, updatedAt: -1 })
    .limit(200)
    .lean();
  const peerIds = rooms.map((r) => r.members.map(String).find((m) => m !== me) ?? me);
  const [peerList, online, summaries] = await Promise.all([
    UserModel.find({ _id: { $in: peerIds } }).lean<User[]>(),
    deps.socketCounts(peerIds).catch(() => peerIds.map(() => 0)),
    deps.summaries.of(
      rooms.map((room) => ({ _id: room._id, members: room.members, readUpTo: room.readUpTo })),
      me,
    ),
  ]);
  const peers = new Map(peerList.map((u) => [String(u._id), u]));

  const listed = await Promise.all(
    rooms.map(async (room, i) => {
      const peerId = peerIds[i] ?? "";
      const { last, unread } = summaries[i] ?? { last: undefined, unread: 0 };
      let preview: PlainMessage | undefined;
      if (last) {
        const key = await deps.keyFor(room._id);
        await ensureKeys(key, [last.keyId]);
        preview = decryptStored(key, room._id, last, deps.unreadable);
      }
      return {
        roomId: room._id,
        peer: peerProfile(peerId, peers.get(peerId)),
        online: Number(online[i] ?? 0) > 0,
        unread,
        preview: preview ? previewText(preview) : "",
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
  return listed.sort((a, b) => recency(b).localeCompare(recency(a)));
}

function previewText(message: PlainMessage): string {
  if (message.deleted) return "Message deleted";
  if (message.unreadable) return "This message could not be read";
  if (message.attachment) return `📎 ${message.text || message.attachment.name}`.slice(0, 120);
  return message.text.slice(0, 120);
}

/** The room if `me` is a member; undefined otherwise (callers answer 404 either way). */
export async function roomForMember(roomId: string, me: string) {
  if (!isRoomId(roomId)) return undefined;
  const room = await RoomModel.findById(roomId).lean();
  return room && !room.deletedAt && room.members.map(String).includes(me) ? room : undefined;
}
