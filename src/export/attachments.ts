/**
 * Attachments in "Download your data": each conversation's files, decrypted, as ZIP entries of
 * their own. Only names are read up front (their sealed metadata, a few hundred bytes each); a
 * file's bytes are read and decrypted chunk by chunk when the ZIP reaches its entry, so an export
 * never holds a whole file in memory and never writes one to disk.
 */
import { Readable } from "node:stream";
import { CipherError } from "../chat/cipher.js";
import { describeAttachment } from "../chat/attachments/describe.js";
import { AttachmentModel } from "../chat/attachments/model.js";
import { openAttachment } from "../chat/attachments/serve.js";
import { ensureKeys, type RoomKey } from "../chat/rooms.js";

export type ExportedAttachment = { seq: number; senderId: string; clientId: string; name: string; entry: string };

/**
 * A file name safe on every system and inside a ZIP: no path separators, no leading dot, no
 * control or reserved characters, at most 80 characters, the message number first so two files
 * of the same name never collide (and the order is the conversation's).
 */
export function attachmentEntryName(folder: string, seq: number, name: string): string {
  const safe =
    name
      .normalize("NFKC")
      .replace(/[^\p{L}\p{N} ._()-]+/gu, "_")
      .replace(/\s+/g, " ")
      .replace(/^[\s.]+|[\s.]+$/g, "")
      .slice(0, 80) || "file";
  return `${folder}/${String(seq).padStart(6, "0")}-${safe}`;
}

/** The room's sent attachments, oldest first, with their entry names under `folder`; unreadable ones are left out. */
export async function attachmentsOfRoom(roomKey: RoomKey, roomId: string, folder: string): Promise<ExportedAttachment[]> {
  const docs = await AttachmentModel.find(
    { roomId, state: "ready", seq: { $exists: true } },
    { roomId: 1, senderId: 1, clientId: 1, size: 1, keyId: 1, salt: 1, meta: 1, seq: 1 },
  )
    .sort({ seq: 1 })
    .lean();
  await ensureKeys(roomKey, [...new Set(docs.map((d) => d.keyId))]);
  const listed: ExportedAttachment[] = [];
  for (const doc of docs) {
    const seq = doc.seq ?? 0;
    try {
      const { name } = describeAttachment(roomKey, doc);
      listed.push({
        seq,
        senderId: String(doc.senderId),
        clientId: doc.clientId,
        name,
        entry: attachmentEntryName(folder, seq, name),
      });
    } catch (err) {
      // Its key version is gone or its metadata damaged: the message says "unreadable" already.
      if (!(err instanceof CipherError)) throw err;
    }
  }
  return listed;
}

/** The file's plaintext, read and decrypted only as the ZIP consumes it. */
export function attachmentBytes(roomKey: RoomKey, roomId: string, file: ExportedAttachment): Readable {
  return Readable.from(
    (async function* () {
      const opened = await openAttachment(roomKey, { roomId, senderId: file.senderId, clientId: file.clientId });
      // Removed since the export began (its message was deleted): an empty entry.
      if (!opened) return;
      for await (const chunk of opened.content) yield chunk as Buffer;
    })(),
  );
}
