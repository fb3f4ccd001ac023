/**
 * Settles numbers a socket is waiting for. A number is handed out before its message is written,
 * so one that is missing below a delivered one is either still being written (another instance,
 * a slow database), or was never written (the write failed, the instance died). Reading the
 * database tells which numbers are stored; for a number still missing after a grace period, a
 * "void" marker is inserted at it. The unique (room, seq) index makes that a decision the
 * database takes once for everyone: if the real write comes first, the marker is refused and
 * the message is read back; if the marker comes first, the late write is refused and the sender
 * renumbers it (message-store.ts), so it arrives later, in order, under a new number.
 */
import mongoose from "mongoose";
import { LONGEST_GAP } from "./feed.js";
import { decryptStored, type PlainMessage, type Unreadable } from "./history.js";
import { DURABLE_WRITE, MessageModel, voidId } from "./message.model.js";
import { ensureKeys, type RoomKey } from "./rooms.js";

/**
 * Marks numbers that no message will have. Throws a MongoBulkWriteError when some were taken
 * (by their message, or by another marker) meanwhile; the others are marked.
 */
export async function voidNumbers(roomId: string, seqs: number[]): Promise<void> {
  await MessageModel.collection.insertMany(
    seqs.map((seq) => ({ _id: voidId(roomId, seq), roomId, seq, kind: "void", createdAt: new Date() })) as never,
    { ordered: false, writeConcern: DURABLE_WRITE },
  );
}

/** At most this many numbers are looked up at once. */
const MAX_RANGE = 500;

type Found = Parameters<typeof decryptStored>[2];

/**
 * The outcome of each number in [from, to] that can be settled now: its message, or undefined
 * for a number no message will have. With `claim`, every number still missing is settled. A
 * span of more than LONGEST_GAP missing numbers is answered as `skipTo` (the first number after
 * it), for the caller to jump over at once.
 */
export async function settleNumbers(
  key: RoomKey,
  roomId: string,
  range: { from: number; to: number },
  claim: boolean,
  unreadable: Unreadable,
): Promise<{ settled: Map<number, PlainMessage | undefined>; skipTo?: number }> {
  const to = Math.min(range.to, range.from + MAX_RANGE - 1);
  const settled = new Map<number, PlainMessage | undefined>();
  if (claim && range.to - range.from >= LONGEST_GAP) {
    const first = await MessageModel.findOne({ roomId, seq: { $gte: range.from, $lte: range.to } }, { seq: 1 })
      .sort({ seq: 1 })
      .lean();
    const end = first?.seq ?? range.to + 1;
    if (end - range.from > LONGEST_GAP) return { settled, skipTo: end };
  }
  const read = async (filter: Record<string, unknown>) => {
    const docs = await MessageModel.find({ roomId, ...filter }).lean<Array<Found & { kind: string }>>();
    await ensureKeys(key, new Set(docs.map((doc) => doc.keyId)));
    for (const doc of docs) settled.set(doc.seq, doc.kind === "void" ? undefined : decryptStored(key, roomId, doc, unreadable));
  };
  await read({ seq: { $gte: range.from, $lte: to } });
  if (!claim) return { settled };

  const missing: number[] = [];
  for (let seq = range.from; seq <= to; seq++) if (!settled.has(seq)) missing.push(seq);
  if (missing.length === 0) return { settled };
  try {
    await voidNumbers(roomId, missing);
    for (const seq of missing) settled.set(seq, undefined);
  } catch (err) {
    if (!(err instanceof mongoose.mongo.MongoBulkWriteError)) throw err;
    // Some numbers were taken meanwhile (by their real message, or by another instance's
    // marker): read what holds them now. Anything still unknown waits for the next round.
    await read({ seq: { $in: missing } });
  }
  return { settled };
}
