/** Attachments go with their message (deleted) and with their sender's account (deleted). */
import mongoose from "mongoose";
import { AttachmentModel } from "./model.js";
import { deleteChunks } from "./storage.js";

async function remove(docs: Array<{ _id: string | null; uploadId: string; chunks: number; state: string }>): Promise<void> {
  for (const doc of docs) {
    // The record first: from then on nothing serves it, and chunks left by a crash here hold
    // only ciphertext whose key derivation needs the record's salt, which is gone.
    await AttachmentModel.deleteOne({ _id: doc._id, uploadId: doc.uploadId });
    await deleteChunks(doc.uploadId, doc.state === "ready" ? doc.chunks : undefined);
  }
}

/** Removes the attachment of message `seq` in `roomId`, if it has one. */
export async function removeAttachmentOf(roomId: string, seq: number): Promise<void> {
  await remove(await AttachmentModel.find({ roomId, seq }, { uploadId: 1, chunks: 1, state: 1 }).lean());
}

/** Removes every attachment of a room (the conversation is being deleted; its keys are gone). */
export async function removeAttachmentsOfRoom(roomId: string): Promise<void> {
  await remove(await AttachmentModel.find({ roomId }, { uploadId: 1, chunks: 1, state: 1 }).lean());
}

/** Removes every attachment `userId` uploaded (their account is being deleted). */
export async function removeAttachmentsOf(userId: string): Promise<void> {
  const senderId = new mongoose.Types.ObjectId(userId);
  await remove(await AttachmentModel.find({ senderId }, { uploadId: 1, chunks: 1, state: 1 }).lean());
}

/** Bytes of attachments `userId` has stored, for the quota. */
export async function storedBytesOf(userId: string): Promise<number> {
  const [sum] = await AttachmentModel.aggregate<{ total: number }>([
    { $match: { senderId: new mongoose.Types.ObjectId(userId) } },
    { $group: { _id: null, total: { $sum: "$size" } } },
  ]);
  return sum?.total ?? 0;
}
