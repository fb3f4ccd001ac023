/**
 * A conversation whose other member deleted their account stays with the one who remains,
 * read-only: it shows "Deleted account" with a neutral picture, the page offers no composer,
 * and the server stores nothing more in it. Otherwise a message would be acknowledged as
 * "Sent" to nobody, for good.
 *
 * New chat sockets into such a room are refused at upgrade (socket.ts). Sockets already open
 * when the account is deleted are told through the hub's `block` event, sent in the deleted
 * user's name, after the room records the deleted member as blocking it: every write then
 * refuses further sends, as for a block, and the page reloads into the read-only room.
 */
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { publicProfile, UserModel, type User } from "../accounts/user.model.js";
import { changeBlocks } from "./blocks.js";
import type { Hub } from "./hub.js";
import { RoomModel } from "./room.model.js";

/** Shown in the room instead of the composer, and sent as the error frame's message. */
export const PEER_DELETED_MESSAGE = "This account was deleted. You can read the conversation but not reply.";

/** A neutral silhouette (a static file): the account's own picture was deleted with it. */
export const DELETED_ACCOUNT_AVATAR = "/static/img/deleted-account.svg";

export type PeerProfile = ReturnType<typeof publicProfile> & { deleted: boolean };

/** How a conversation shows its other member: `peer`'s public profile, or "Deleted account" when there is none. */
export function peerProfile(peerId: string, peer: User | null | undefined): PeerProfile {
  if (peer) return { ...publicProfile(peer), deleted: false };
  return {
    id: peerId,
    displayName: "Deleted account",
    status: "",
    avatarUrl: DELETED_ACCOUNT_AVATAR,
    lastSeenAt: null,
    deleted: true,
  };
}

/** How a conversation shows `peerId` now. */
export async function currentPeer(peerId: string): Promise<PeerProfile> {
  return peerProfile(peerId, await UserModel.findById(peerId).lean<User>());
}

/** Whether `peerId`'s account is gone (deleted; rooms keep the member ids). */
export async function accountIsGone(peerId: string): Promise<boolean> {
  return !(await UserModel.exists({ _id: peerId }));
}

/**
 * Closes every room of `userId`, just deleted, to new messages: recorded as a block by the
 * deleted member (which every write checks at once, blocks.ts, so it holds even where the
 * event below is lost), then announced to the open chats.
 */
export async function announceAccountDeleted(hub: Hub, redis: Redis, userId: string): Promise<void> {
  const member = new mongoose.Types.ObjectId(userId);
  const rooms = await RoomModel.find({ members: member }, { _id: 1 }).lean();
  await changeBlocks(
    redis,
    rooms.map((room) => String(room._id)),
    () => RoomModel.updateMany({ members: member }, { $addToSet: { blockedBy: member } }),
  );
  for (const room of rooms) void hub.publish({ type: "block", roomId: room._id, by: userId, blocked: true });
}
