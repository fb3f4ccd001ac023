/**
 * Stores chat messages, encrypted, with group commit: sends that arrive while a write is in
 * flight wait and go in the next batch, one sequence reservation per room and one insertMany
 * for all. Each send resolves only after MongoDB has stored its document, so an acknowledgement
 * never precedes its write. A retried send (same sender and client id) resolves to the number
 * the first one got, and is not stored twice.
 */
import mongoose from "mongoose";
import { sealMessage, type SealedMessage } from "./cipher.js";
import { MessageModel } from "./message.model.js";
import { RoomModel } from "./room.model.js";
import type { RoomKey } from "./rooms.js";

export type SendRequest = { roomId: string; senderId: string; clientId: string; text: string };
export type Stored = { seq: number; createdAt: Date; duplicate: boolean; sealed?: SealedMessage };

type Pending = { request: SendRequest; resolve: (stored: Stored) => void; reject: (err: unknown) => void; attempts: number };

// Numbers are reserved with an atomic $inc in MongoDB; FerretDB's findAndModify is not atomic
// across connections, so two instances can be handed the same number. The unique (room, seq)
// index refuses the second write, which then takes fresh numbers, up to this many times.
const MAX_ATTEMPTS = 5;

export type MessageStore = {
  store(request: SendRequest): Promise<Stored>;
  /** Waits for every accepted send to be written or failed. */
  drain(): Promise<void>;
};

export function createMessageStore(keyFor: (roomId: string) => Promise<RoomKey>, maxBatch = 512): MessageStore {
  const queue: Pending[] = [];
  let writing: Promise<void> | undefined;

  function kick(): void {
    if (writing || queue.length === 0) return;
    const batch = queue.splice(0, maxBatch);
    writing = writeBatch(batch, keyFor)
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
    },
  };
}

/** Writes one batch; returns the sends that lost a race for their number and must go again. */
async function writeBatch(batch: Pending[], keyFor: (roomId: string) => Promise<RoomKey>): Promise<Pending[]> {
  const byRoom = new Map<string, Pending[]>();
  for (const pending of batch) byRoom.set(pending.request.roomId, [...(byRoom.get(pending.request.roomId) ?? []), pending]);

  const docs: Array<Record<string, unknown> & { seq: number; sealed: SealedMessage }> = [];
  const owners: Pending[] = [];
  const createdAt = new Date();
  await Promise.all(
    [...byRoom].map(async ([roomId, sends]) => {
      try {
        const key = await keyFor(roomId);
        // No projection: FerretDB does not implement findAndModify's `fields`.
        const room = await RoomModel.findOneAndUpdate(
          { _id: roomId },
          { $inc: { seq: sends.length }, $set: { lastMessageAt: createdAt } },
          { returnDocument: "after" },
        ).lean();
        if (!room) throw new Error(`room ${roomId} does not exist`);
        const first = room.seq - sends.length + 1;
        sends.forEach((pending, i) => {
          const seq = first + i;
          const sealed = sealMessage(key.dataKey, { roomId, seq, keyId: key.keyId }, pending.request.text);
          const { v, keyId, iv, ct, mac } = sealed;
          docs.push({
            sealed,
            roomId,
            seq,
            senderId: new mongoose.Types.ObjectId(pending.request.senderId),
            clientId: pending.request.clientId,
            kind: "text",
            v,
            keyId,
            iv,
            ct,
            mac,
            createdAt,
          });
          owners.push(pending);
        });
      } catch (err) {
        for (const pending of sends) pending.reject(err);
      }
    }),
  );
  if (docs.length === 0) return [];

  const failed = new Map<number, { code?: number }>();
  try {
    await MessageModel.collection.insertMany(
      docs.map(({ sealed: _sealed, ...doc }) => doc),
      { ordered: false },
    );
  } catch (err) {
    if (!(err instanceof mongoose.mongo.MongoBulkWriteError)) {
      for (const pending of owners) pending.reject(err);
      return [];
    }
    const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    for (const writeError of writeErrors) failed.set(writeError.index, { code: writeError.code });
  }

  const again: Pending[] = [];
  await Promise.all(
    owners.map(async (pending, i) => {
      try {
        const failure = failed.get(i);
        const doc = docs[i];
        if (!failure && doc) return pending.resolve({ seq: doc.seq, createdAt, duplicate: false, sealed: doc.sealed });
        if (failure?.code !== 11000) return pending.reject(new Error("message was not stored"));
        // Either a retry of a send already stored (answer with the first one's number), or a
        // number another instance took first (go again with a new one).
        const { roomId, senderId, clientId } = pending.request;
        const original = await MessageModel.findOne({ roomId, senderId, clientId }, { seq: 1, createdAt: 1 }).lean();
        if (original) pending.resolve({ seq: original.seq, createdAt: original.createdAt, duplicate: true });
        else if (++pending.attempts < MAX_ATTEMPTS) again.push(pending);
        else pending.reject(new Error("message was not stored"));
      } catch (err) {
        pending.reject(err);
      }
    }),
  );
  return again;
}
