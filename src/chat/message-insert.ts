/**
 * The write of one batch of messages: one raw `insert` command, and what becomes of each
 * message the server refused (a retry of a stored message, or a number that was taken).
 */
import { voidNumbers } from "./gaps.js";
import { DURABLE_WRITE, MessageModel } from "./message.model.js";
import { bytes } from "./rooms.js";
import type { SealedMessage } from "./cipher.js";
import type { RoomActivity } from "./room-activity.js";

/** A message document as the store builds it, with its sealed form kept for the publish. */
export type Doc = { _id: string; roomId: string; seq: number; sealed: SealedMessage } & Record<string, unknown>;
export type Stored = {
  seq: number;
  createdAt: Date;
  duplicate: boolean;
  sealed?: SealedMessage;
  kind?: string;
  /** The number of the message it answers. */
  replyTo?: number;
};
/** One send waiting for its write. */
export type Pending = {
  /** `kind` "attachment": `text` is the attachment message's content (attachments/content.ts). */
  request: { roomId: string; senderId: string; clientId: string; text: string; kind?: "attachment"; replyTo?: number };
  resolve: (stored: Stored) => void;
  reject: (err: unknown) => void;
  attempts: number;
};

/**
 * One `insert` command for the batch, unordered, durable. Answers the documents the server
 * refused, by position, with their error code; throws when what was stored is unknown.
 */
export async function insertAll(docs: readonly Doc[]): Promise<Map<number, number>> {
  const db = MessageModel.db.db;
  if (!db) throw new Error("MongoDB is not connected");
  // The raw command, not the driver's bulk-write path: less client CPU per insert (docs/decisions/018).
  const reply = (await db.command({
    insert: MessageModel.collection.collectionName,
    documents: docs.map(({ sealed: _sealed, ...doc }) => doc),
    ordered: false,
    writeConcern: DURABLE_WRITE,
  })) as { n?: number; writeErrors?: Array<{ index: number; code?: number }>; writeConcernError?: unknown };
  const writeErrors = reply.writeErrors ?? [];
  // Unless every document is accounted for (inserted, or refused with its own error), what was
  // stored is unknown: acknowledge none of them. A client's retry is safe either way (same id:
  // stored once).
  if (reply.writeConcernError || (reply.n ?? 0) + writeErrors.length !== docs.length)
    throw new Error("the insert's outcome is unknown");
  return new Map(writeErrors.map((e) => [e.index, e.code ?? 0]));
}

/** What becomes of one send after the insert: settle it (resolve or reject), or go again. */
export async function outcomeOf(
  pending: Pending,
  doc: Doc,
  failure: number | undefined,
  createdAt: Date,
  activity: RoomActivity,
): Promise<(() => void) | "again"> {
  return failure === undefined ? stored() : settleRefused();

  function stored(): () => void {
    activity.note(doc.roomId, doc.seq, createdAt);
    const replyTo = typeof doc.replyTo === "number" ? { replyTo: doc.replyTo } : {};
    return () =>
      pending.resolve({ seq: doc.seq, createdAt, duplicate: false, sealed: doc.sealed, kind: String(doc.kind), ...replyTo });
  }

  async function settleRefused(): Promise<(() => void) | "again"> {
    if (failure !== 11000) return () => pending.reject(new Error("message was not stored"));
    // Either a retry of a send already stored (answer with the first one's number), or a number
    // that was taken (go again with a new one). FerretDB's duplicate-key error does not say which
    // index refused, so look the message up by `_id` (indexed everywhere).
    try {
      const original = await MessageModel.findById(doc._id, {
        seq: 1,
        createdAt: 1,
        kind: 1,
        v: 1,
        keyId: 1,
        iv: 1,
        ct: 1,
        mac: 1,
        replyTo: 1,
      }).lean();
      if (!original) return "again";
      // The first attempt may have been stored by an instance that died before publishing it:
      // the retry carries it, and receivers drop what they already have.
      const { kind, v, keyId, iv, ct, mac } = original;
      const sealed =
        (kind === "text" || kind === "attachment") && v && keyId !== undefined && keyId !== null && iv && ct && mac
          ? { v, keyId, iv: bytes(iv), ct: bytes(ct), mac: bytes(mac) }
          : undefined;
      // The number this attempt reserved stays unused: say so now, so receivers waiting for it
      // need not wait out the grace period (gaps.ts). Best effort.
      voidNumbers(doc.roomId, [doc.seq]).catch(() => undefined);
      const replyTo = typeof original.replyTo === "number" ? { replyTo: original.replyTo } : {};
      return () =>
        pending.resolve({ seq: original.seq, createdAt: original.createdAt, duplicate: true, sealed, kind, ...replyTo });
    } catch (err) {
      return () => pending.reject(err);
    }
  }
}
