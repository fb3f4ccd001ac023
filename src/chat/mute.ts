/**
 * Muting a conversation: its member gets no push notification for it (chat/notify/); messages,
 * unread counts and everything else stay as they are. Stored on the room, per member.
 */
import mongoose from "mongoose";
import { RoomModel } from "./room.model.js";

/** Mutes or unmutes `roomId` for `userId` (a member: the caller checked). */
export async function setMuted(roomId: string, userId: string, muted: boolean): Promise<void> {
  const me = new mongoose.Types.ObjectId(userId);
  await RoomModel.updateOne({ _id: roomId }, muted ? { $addToSet: { mutedBy: me } } : { $pull: { mutedBy: me } });
}

/** Whether `userId` muted a room, given the room's `mutedBy` (absent on rooms from before muting). */
export const isMutedBy = (room: { mutedBy?: unknown[] | null }, userId: string): boolean =>
  (room.mutedBy ?? []).map(String).includes(userId);
