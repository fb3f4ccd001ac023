/**
 * Reading a room's stored messages back, decrypted, for catch-up and history pages, with what
 * replies quote and the reactions on them. A message that fails authentication (damaged or
 * altered at rest) reads as "could not be read" and is reported; it never takes the rest of the
 * room down with it.
 */
import type { Logger } from "../logger.js";
import { readContent } from "./attachments/content.js";
import { CipherError, openMessage } from "./cipher.js";
import type { PlainMessage } from "./protocol.js";

export type { PlainMessage };
import { MessageModel } from "./message.model.js";
import { countReactions, type StoredReaction } from "./reaction-cipher.js";
import { fillQuotes, quotedOutside } from "./replies.js";
import { bytes, ensureKeys, openingKey, type RoomKey } from "./rooms.js";

/** Told of each message that cannot be opened. */
export type Unreadable = (where: { roomId: string; seq: number }) => void;

/**
 * Logs each unreadable message once per process (its place, never its content): every page view
 * and reconnect reads it again, and one damaged message must not flood the log.
 */
export function reportUnreadable(log: Logger): Unreadable {
  const seen = new Set<string>();
  return ({ roomId, seq }) => {
    const id = `${roomId}:${seq}`;
    if (seen.has(id)) return;
    if (seen.size >= 10_000) seen.clear();
    seen.add(id);
    log.error({ roomId, seq }, "a stored message failed authentication and cannot be read");
  };
}

/** Opens one message (of `kind`), or marks it unreadable when it fails authentication. */
export function openOrUnreadable(
  open: () => string,
  where: { roomId: string; seq: number },
  unreadable: Unreadable,
  kind?: string,
): { text: string; unreadable?: true; attachment?: PlainMessage["attachment"] } {
  try {
    return readContent(kind, open());
  } catch (err) {
    if (!(err instanceof CipherError)) throw err;
    unreadable(where);
    return { text: "", unreadable: true };
  }
}

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
  replyTo?: number | null;
  reactions?: StoredReaction[] | null;
};

export function decryptStored(key: RoomKey, roomId: string, doc: StoredDoc, unreadable: Unreadable): PlainMessage {
  const base = { seq: doc.seq, from: String(doc.senderId), clientId: doc.clientId, at: doc.createdAt.toISOString() };
  if (doc.kind === "deleted") return { ...base, text: "", deleted: true };
  const { iv, ct, mac } = doc;
  const opened = openOrUnreadable(
    () => {
      if (!iv || !ct || !mac) throw new CipherError("message is missing its ciphertext");
      return openMessage(
        openingKey(key, doc.keyId ?? 0),
        { roomId, seq: doc.seq, senderId: String(doc.senderId), kind: doc.kind, editedAt: doc.editedAt?.getTime() },
        { v: doc.v ?? 0, keyId: doc.keyId ?? 0, iv: bytes(iv), ct: bytes(ct), mac: bytes(mac) },
      );
    },
    { roomId, seq: doc.seq },
    unreadable,
    doc.kind,
  );
  return {
    ...base,
    ...opened,
    ...(doc.editedAt && !opened.unreadable ? { editedAt: doc.editedAt.toISOString() } : {}),
    ...(typeof doc.replyTo === "number" ? { replyTo: { seq: doc.replyTo } } : {}),
    ...(doc.reactions?.length && !opened.unreadable ? { reactions: countReactions(key, roomId, doc.seq, doc.reactions) } : {}),
  };
}

/** Fills in what the replies among `messages` quote (in place), reading originals not among them. */
export async function addQuotes(key: RoomKey, roomId: string, messages: PlainMessage[], unreadable: Unreadable): Promise<void> {
  const outside = quotedOutside(messages);
  if (outside.length === 0) return fillQuotes(messages, []);
  const originals = await MessageModel.find({ roomId, seq: { $in: outside }, kind: { $ne: "void" } }).lean<StoredDoc[]>();
  await ensureKeys(key, keyIdsOf(originals));
  fillQuotes(
    messages,
    originals.map((doc) => decryptStored(key, roomId, doc, unreadable)),
  );
}

/** The key versions `docs` name, their reactions' included. */
const keyIdsOf = (docs: readonly StoredDoc[]) =>
  new Set(docs.flatMap((doc) => [doc.keyId, ...(doc.reactions ?? []).map((r) => r.keyId)]));

/** Messages with seq in (after, before), oldest first, at most `limit`. */
export async function readMessages(
  key: RoomKey,
  roomId: string,
  range: { after?: number; before?: number; limit: number; newestFirst?: boolean },
  unreadable: Unreadable,
): Promise<PlainMessage[]> {
  const seq: Record<string, number> = {};
  if (range.after !== undefined) seq.$gt = range.after;
  if (range.before !== undefined) seq.$lt = range.before;
  const docs = await MessageModel.find({ roomId, kind: { $ne: "void" }, ...(Object.keys(seq).length ? { seq } : {}) })
    .sort({ seq: range.newestFirst ? -1 : 1 })
    .limit(range.limit)
    .lean<StoredDoc[]>();
  await ensureKeys(key, keyIdsOf(docs));
  const messages = docs.map((doc) => decryptStored(key, roomId, doc, unreadable));
  await addQuotes(key, roomId, messages, unreadable);
  return range.newestFirst ? messages.reverse() : messages;
}
