/**
 * Stores chat messages, encrypted, with group commit: sends that arrive while a write is in
 * flight wait and go in the next batch, with one number reservation (Redis) and one insertMany
 * for all of them. Each send resolves only after MongoDB has stored its document, so an
 * acknowledgement never precedes its write. A retried send (same room, sender and client id) has
 * the same `_id`, so it is not stored twice and resolves to the number the first one got.
 */
import mongoose from "mongoose";
import { sealMessage, type SealedMessage } from "./cipher.js";
import { voidNumbers } from "./gaps.js";
import { MessageModel, messageId } from "./message.model.js";
import type { RoomActivity } from "./room-activity.js";
import { bytes, sealingKey, type RoomKey } from "./rooms.js";
import type { Sequencer } from "./sequencer.js";

/** `kind` "attachment": `text` is the attachment message's content (attachments/content.ts). */
export type SendRequest = { roomId: string; senderId: string; clientId: string; text: string; kind?: "attachment" };
export type Stored = { seq: number; createdAt: Date; duplicate: boolean; sealed?: SealedMessage; kind?: string };

type Pending = { request: SendRequest; resolve: (stored: Stored) => void; reject: (err: unknown) => void; attempts: number };

// A number can turn out to be taken already (a Redis counter that went back, or two instances
// counting from MongoDB while Redis was down): the unique (room, seq) index refuses the write,
// the sequencer moves past what is stored, and the send goes again, up to this many times.
const MAX_ATTEMPTS = 5;

export type MessageStore = {
  store(request: SendRequest): Promise<Stored>;
  /** Waits for every accepted send to be written or failed, and for room activity to be written. */
  drain(): Promise<void>;
};

export type StoreDeps = {
  keyFor: (roomId: string) => Promise<RoomKey>;
  sequencer: Sequencer;
  activity: RoomActivity;
  maxBatch?: number;
};

export function createMessageStore(deps: StoreDeps): MessageStore {
  const maxBatch = deps.maxBatch ?? 512;
  const queue: Pending[] = [];
  let writing: Promise<void> | undefined;

  function kick(): void {
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    writing = writeBatch(batch, deps)
      .then((again) => {
        queue.unshift(...again);
      })
      .finally(() => {
        writing = undefined;
        kick();
      });
  }

  return {
    store(request) {
      return new Promise<Stored>((resolve, reject) => {
        queue.push({ request, resolve, reject, attempts: 0 });
        // Start now if idle; otherwise this send rides in the batch after the one being written.
        queueMicrotask(kick);
      });
    },
    async drain() {
      while (writing || queue.length > 0) {
        kick();
        await writing;
      }
      await deps.activity.flush();
    },
  };
}

type Doc = { _id: string; roomId: string; seq: number; sealed: SealedMessage } & Record<string, unknown>;

/** Writes one batch; returns the sends whose number was taken and must go again. */
async function writeBatch(batch: Pending[], deps: StoreDeps): Promise<Pending[]> {
  const byRoom = new Map<string, Pending[]>();
  for (const pending of batch) byRoom.set(pending.request.roomId, [...(byRoom.get(pending.request.roomId) ?? []), pending]);

  // The key lookup (cached) is also where a room that does not exist is refused.
  const keys = new Map<string, RoomKey>();
  await Promise.all(
    [...byRoom].map(async ([roomId, sends]) => {
      try {
        keys.set(roomId, await deps.keyFor(roomId));
      } catch (err) {
        for (const pending of sends) pending.reject(err);
        byRoom.delete(roomId);
      }
    }),
  );
  if (byRoom.size === 0) return [];

  let firsts: Map<string, number>;
  try {
    firsts = await deps.sequencer.reserve(new Map([...byRoom].map(([roomId, sends]) => [roomId, sends.length])));
  } catch (err) {
    for (const sends of byRoom.values()) for (const pending of sends) pending.reject(err);
    return [];
  }

  const docs: Doc[] = [];
  const owners: Pending[] = [];
  const createdAt = new Date();
  for (const [roomId, sends] of byRoom) {
    const key = keys.get(roomId);
    const first = firsts.get(roomId);
    if (!key || first === undefined) continue;
    const sealing = sealingKey(key);
    sends.forEach((pending, i) => {
      const seq = first + i;
      const { senderId, clientId, text, kind = "text" } = pending.request;
      const sealed = sealMessage(sealing.dataKey, { roomId, seq, keyId: sealing.keyId, senderId, kind }, text);
      const { v, keyId, iv, ct, mac } = sealed;
      docs.push({
        _id: messageId(roomId, senderId, clientId),
        sealed,
        roomId,
        seq,
        senderId: new mongoose.Types.ObjectId(senderId),
        clientId,
        kind,
        v,
        keyId,
        iv,
        ct,
        mac,
        createdAt,
      });
      owners.push(pending);
    });
  }

  const failed = new Map<number, { code?: number }>();
  try {
    await MessageModel.collection.insertMany(
      docs.map(({ sealed: _sealed, ...doc }) => doc) as unknown as Array<Record<string, unknown>>,
      // "Stored" means on disk: the ack waits for the journal (MongoDB's default for a lone
      // server acknowledges from memory and syncs every 100 ms). A replica set waits for a
      // majority. FerretDB's SQLite commits synchronously anyway.
      { ordered: false, writeConcern: { w: "majority", j: true } },
    );
  } catch (err) {
    if (!(err instanceof mongoose.mongo.MongoBulkWriteError)) {
      for (const pending of owners) pending.reject(err);
      return [];
    }
    const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    // Unless every document is accounted for (inserted, or refused with its own error), the
    // server went away mid-write and what was stored is unknown: acknowledge none of them. A
    // client's retry is safe either way (same id: stored once). Seen when FerretDB was killed.
    if (err.insertedCount + writeErrors.length !== docs.length) {
      for (const pending of owners) pending.reject(err);
      return [];
    }
    for (const writeError of writeErrors) failed.set(writeError.index, { code: writeError.code });
  }

  const again: Pending[] = [];
  const taken = new Set<string>();
  await Promise.all(
    owners.map(async (pending, i) => {
      const doc = docs[i];
      try {
        const failure = failed.get(i);
        if (!doc) return pending.reject(new Error("message was not stored"));
        if (!failure) {
          deps.activity.note(doc.roomId, doc.seq, createdAt);
          return pending.resolve({ seq: doc.seq, createdAt, duplicate: false, sealed: doc.sealed, kind: String(doc.kind) });
        }
        if (failure.code !== 11000) return pending.reject(new Error("message was not stored"));
        // Either a retry of a send already stored (answer with the first one's number), or a
        // number that was taken (go again with a new one). FerretDB's duplicate-key error does
        // not say which index refused, so look the message up by `_id` (indexed everywhere).
        const { roomId } = pending.request;
        const original = await MessageModel.findById(doc._id, {
          seq: 1,
          createdAt: 1,
          kind: 1,
          v: 1,
          keyId: 1,
          iv: 1,
          ct: 1,
          mac: 1,
        }).lean();
        if (original) {
          // The first attempt may have been stored by an instance that died before publishing
          // it: the retry carries it, and receivers drop what they already have.
          const { kind, v, keyId, iv, ct, mac } = original;
          const sealed =
            (kind === "text" || kind === "attachment") && v && keyId !== undefined && keyId !== null && iv && ct && mac
              ? { v, keyId, iv: bytes(iv), ct: bytes(ct), mac: bytes(mac) }
              : undefined;
          // The number this attempt reserved stays unused: say so now, so receivers waiting
          // for it need not wait out the grace period (gaps.ts). Best effort.
          voidNumbers(roomId, [doc.seq]).catch(() => undefined);
          return pending.resolve({ seq: original.seq, createdAt: original.createdAt, duplicate: true, sealed, kind });
        }
        taken.add(roomId);
        if (++pending.attempts < MAX_ATTEMPTS) again.push(pending);
        else pending.reject(new Error("message was not stored"));
      } catch (err) {
        pending.reject(err);
      }
    }),
  );
  await Promise.all([...taken].map((roomId) => deps.sequencer.resync(roomId).catch(() => undefined)));
  return again;
}
