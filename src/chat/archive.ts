/**
 * Archiving is one member's own filing: the conversation moves to the "Archived" section of
 * their list and nothing else changes (the other member is not told, messages still arrive and
 * count as unread). As in WhatsApp with "keep chats archived", a new message does not bring it
 * back; only the member's own "Unarchive" does (docs/decisions/013-search.md says why).
 */
import mongoose from "mongoose";
import { RoomModel } from "./room.model.js";

export async function setArchived(roomId: string, userId: string, archived: boolean): Promise<void> {
  const me = new mongoose.Types.ObjectId(userId);
  await RoomModel.updateOne({ _id: roomId }, archived ? { $addToSet: { archivedBy: me } } : { $pull: { archivedBy: me } });
}
