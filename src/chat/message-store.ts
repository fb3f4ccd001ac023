/**
 * Stores chat messages, encrypted, with group commit: sends that arrive while writes are in
 * flight wait and go in the next batch, with one Redis script call (send limit and numbers) and
 * one insert command for all of them. Each send resolves only after MongoDB has stored its
 * document, so an acknowledgement never precedes its write. A retried send (same room, sender
 * and client id) has the same `_id`, so it is not stored twice and resolves to the number the
 * first one got.
 *
 * Several batches may be in flight (a slow insert does not hold every send behind it), but a
 * room's sends resolve in number order: a batch's sends of a room resolve only after the room's
 * earlier batches have been stored or have failed, so what is published after a send resolves
 * (messages.ts) goes out in number order too.
 */
import mongoose from "mongoose";
import { sealMessage } from "./cipher.js";
import { insertAll, outcomeOf, type Doc, type Pending, type Stored } from "./message-insert.js";
import { messageId } from "./message.model.js";
import type { RoomActivity } from "./room-activity.js";
import { sealingKey, type RoomKey } from "./rooms.js";
import type { Reservation, SendLimit, Sequencer } from "./sequencer.js";

export type SendRequest = Pending["request"];
export type { Stored };

/** A member of the room has blocked the other; nothing was stored and no number was taken. */
export class SendBlocked extends Error {
  constructor(readonly blockedBy: string[]) {
    super("the room is blocked");
  }
}

/** The sender is over the send limit; nothing was stored and no number was taken. */
export class SendLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super("over the send limit");
  }
}

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
  /** Insert commands in flight at once (default 4). */
  maxInFlight?: number;
  /** Spent per send in the same script call that numbers it; none when absent. */
  sendLimit?: SendLimit;
};

export function createMessageStore(deps: StoreDeps): MessageStore {
  const maxBatch = deps.maxBatch ?? 512;
  const maxInFlight = deps.maxInFlight ?? 4;
  const queue: Pending[] = [];
  const writing = new Set<Promise<void>>();
  // Reservations are taken one batch at a time, so batch order is number order in every room;
  // each room's last batch is what the room's next batch waits for before it resolves.
  let reserving: Promise<unknown> = Promise.resolve();
  const roomTurns = new Map<string, Promise<void>>();

  const inOrder: Ordering = {
    reserve(sends) {
      const turn = reserving.then(async () => {
        const reservations = await deps.sequencer.reserve(sends, deps.sendLimit);
        const rooms = new Set(sends.filter((_, i) => "seq" in (reservations[i] ?? {})).map((s) => s.roomId));
        const turns = new Map<string, { before: Promise<void>; done: () => void }>();
        for (const roomId of rooms) {
          let done = () => {};
          const mine = new Promise<void>((resolve) => (done = resolve));
          turns.set(roomId, { before: roomTurns.get(roomId) ?? Promise.resolve(), done });
          roomTurns.set(roomId, mine);
          // Forgotten once settled, unless a later batch took the room's turn meanwhile.
          void mine.then(() => roomTurns.get(roomId) === mine && roomTurns.delete(roomId));
        }
        return { reservations, turns };
      });
      reserving = turn.catch(() => undefined);
      return turn;
    },
  };

  function kick(): void {
    while (writing.size < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      const write: Promise<void> = writeBatch(batch, deps, inOrder)
        .then((again) => void queue.unshift(...again))
        // Not expected (writeBatch settles each send itself); a send already settled stays so.
        .catch((err: unknown) => batch.forEach((pending) => pending.reject(err)))
        .finally(() => {
          writing.delete(write);
          kick();
        });
      writing.add(write);
    }
  }

  return {
    store(request) {
      return new Promise<Stored>((resolve, reject) => {
        queue.push({ request, resolve, reject, attempts: 0 });
        // Start now if a write slot is free; otherwise this send rides in the next batch.
        queueMicrotask(kick);
      });
    },
    async drain() {
      while (writing.size > 0 || queue.length > 0) {
        kick();
        await Promise.all([...writing]);
      }
      await deps.activity.flush();
    },
  };
}

type RoomTurn = { before: Promise<void>; done: () => void };
type Ordering = {
  reserve(
    sends: ReadonlyArray<{ roomId: string; senderId: string }>,
  ): Promise<{ reservations: Reservation[]; turns: Map<string, RoomTurn> }>;
};

type Outcome = { pending: Pending; settle: () => void };

/** Writes one batch; returns the sends whose number was taken and must go again. */
async function writeBatch(batch: Pending[], deps: StoreDeps, ordering: Ordering): Promise<Pending[]> {
  // The key lookup (cached) is also where a room that does not exist is refused.
  const keys = new Map<string, RoomKey>();
  await Promise.all(
    [...new Set(batch.map((p) => p.request.roomId))].map(async (roomId) => {
      try {
        keys.set(roomId, await deps.keyFor(roomId));
      } catch (err) {
        for (const pending of batch) if (pending.request.roomId === roomId) pending.reject(err);
      }
    }),
  );
  const sends = batch.filter((p) => keys.has(p.request.roomId));
  if (sends.length === 0) return [];

  let reserved: Awaited<ReturnType<Ordering["reserve"]>>;
  try {
    reserved = await ordering.reserve(sends.map((p) => p.request));
  } catch (err) {
    for (const pending of sends) pending.reject(err);
    return [];
  }
  const { reservations, turns } = reserved;

  const docs: Doc[] = [];
  const owners: Pending[] = [];
  const createdAt = new Date();
  sends.forEach((pending, i) => {
    const reservation = reservations[i];
    if (reservation && "blockedBy" in reservation) return pending.reject(new SendBlocked(reservation.blockedBy));
    if (!reservation || !("seq" in reservation))
      return pending.reject(new SendLimited(reservation?.retryAfterMs ?? deps.sendLimit?.windowMs ?? 1000));
    const { roomId, senderId, clientId, text, kind = "text", replyTo } = pending.request;
    const key = keys.get(roomId);
    if (!key) return pending.reject(new Error("message was not stored"));
    const { seq } = reservation;
    let sealed;
    try {
      const sealing = sealingKey(key);
      sealed = sealMessage(sealing.dataKey, { roomId, seq, keyId: sealing.keyId, senderId, kind }, text);
    } catch (err) {
      return pending.reject(err); // its number stays unused: receivers settle it (gaps.ts)
    }
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
      ...(replyTo !== undefined ? { replyTo } : {}),
    });
    owners.push(pending);
  });

  const again: Pending[] = [];
  const taken = new Set<string>();
  const outcomes: Outcome[] = [];
  try {
    const failed = await insertAll(docs);
    await Promise.all(
      owners.map(async (pending, i) => {
        const doc = docs[i];
        if (!doc) return;
        const outcome = await outcomeOf(pending, doc, failed.get(i), createdAt, deps.activity);
        if (outcome === "again") {
          taken.add(doc.roomId);
          if (++pending.attempts < MAX_ATTEMPTS) again.push(pending);
          else pending.reject(new Error("message was not stored"));
        } else outcomes[i] = { pending, settle: outcome };
      }),
    );
  } catch (err) {
    owners.forEach((pending, i) => (outcomes[i] = { pending, settle: () => pending.reject(err) }));
  } finally {
    // Each room's sends settle in number order, after the room's earlier batches.
    await Promise.all(
      [...turns].map(async ([roomId, turn]) => {
        try {
          await turn.before;
          docs.forEach((doc, i) => doc.roomId === roomId && outcomes[i]?.settle());
        } finally {
          turn.done();
        }
      }),
    );
  }
  await Promise.all([...taken].map((roomId) => deps.sequencer.resync(roomId).catch(() => undefined)));
  return again;
}
