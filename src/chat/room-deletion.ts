/**
 * Deleting a conversation for both members. The room's keys go first (crypto-shredding): from
 * that write on, no copy of its messages opens with what the database holds (a replica, free
 * pages, a backup taken later); then both members' sockets close everywhere, then the messages and
 * the room are removed. A deletion that stops half-way leaves a room marked deleted, invisible to
 * both members and finished by the next attempt (or by either starting a new conversation).
 */
import { removeAttachmentsOfRoom } from "./attachments/removal.js";
import { MessageModel } from "./message.model.js";
import { RoomModel } from "./room.model.js";
import type { Hub } from "./hub.js";

export async function deleteConversation(hub: Hub, roomId: string, by: string): Promise<void> {
  await RoomModel.updateOne({ _id: roomId }, { $unset: { key: 1, keys: 1 }, $set: { deletedAt: new Date() } });
  await hub.publish({ type: "room-deleted", roomId, by });
  await finishDeletion(roomId);
}

/** Removes what is left of a room whose keys are gone: its messages and files, then the room. */
export async function finishDeletion(roomId: string): Promise<void> {
  await MessageModel.deleteMany({ roomId });
  await removeAttachmentsOfRoom(roomId);
  await RoomModel.deleteOne({ _id: roomId, deletedAt: { $exists: true } });
  // A send already being written when the keys went (its socket closes with the room) can land
  // after the first sweep; a second one takes it in all but the slowest case, and anything left
  // belongs to no room and opens with no key.
  await MessageModel.deleteMany({ roomId });
}
