/** Reading a room's stored messages back, decrypted, for catch-up and history pages. */
import { openMessage } from "./cipher.js";
import { MessageModel } from "./message.model.js";
import { bytes, type RoomKey } from "./rooms.js";

export type PlainMessage = {
  seq: number;
  from: string;
  clientId: string;
  text: string;
  at: string;
  editedAt?: string;
  deleted?: boolean;
};

type StoredDoc = {
  seq: number;
  senderId: unknown;
  clientId: string;
  kind: string;
  v?: number | null;
  keyId?: number | null;
  iv?: Buffer | { buffer: Uint8Array } | null;
  ct?: Buffer | { buffer: Uint8Array } | null;
  mac?: Buffer | { buffer: Uint8Array } | null;
  createdAt: Date;
  editedAt?: Date | null;
};

export function decryptStored(key: RoomKey, roomId: string, doc: StoredDoc): PlainMessage {
  const base = { seq: doc.seq, from: String(doc.senderId), clientId: doc.clientId, at: doc.createdAt.toISOString() };
  if (doc.kind === "deleted" || !doc.iv || !doc.ct || !doc.mac) return { ...base, text: "", deleted: true };
  const text = openMessage(
    key.dataKey,
    { roomId, seq: doc.seq },
    { v: doc.v ?? 0, keyId: doc.keyId ?? 0, iv: bytes(doc.iv), ct: bytes(doc.ct), mac: bytes(doc.mac) },
  );
  return { ...base, text, ...(doc.editedAt ? { editedAt: doc.editedAt.toISOString() } : {}) };
}

/** Messages with seq in (after, before), oldest first, at most `limit`. */
export async function readMessages(
  key: RoomKey,
  roomId: string,
  range: { after?: number; before?: number; limit: number; newestFirst?: boolean },
): Promise<PlainMessage[]> {
  const seq: Record<string, number> = {};
  if (range.after !== undefined) seq.$gt = range.after;
  if (range.before !== undefined) seq.$lt = range.before;
  const docs = await MessageModel.find({ roomId, ...(Object.keys(seq).length ? { seq } : {}) })
    .sort({ seq: range.newestFirst ? -1 : 1 })
    .limit(range.limit)
    .lean<StoredDoc[]>();
  const messages = docs.map((doc) => decryptStored(key, roomId, doc));
  return range.newestFirst ? messages.reverse() : messages;
}
