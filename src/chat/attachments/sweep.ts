/**
 * Uploads that never became a message (the tab was closed, the send was cancelled, the upload
 * died half way) are removed once they are older than the configured age, so they neither fill
 * the disk nor count against the uploader's quota for ever.
 */
import type { Logger } from "../../logger.js";
import { repeatEvery } from "../../repeat.js";
import { MessageModel } from "../message.model.js";
import { AttachmentModel } from "./model.js";
import { deleteChunks } from "./storage.js";

export type SweepResult = { removed: number; repaired: number };

/** At most this many records per pass: a pass is bounded work, the next one takes the rest. */
const PER_PASS = 500;

/** Removes the attachments created before `before` that no message carries. */
export async function sweepUnsentAttachments(before: Date): Promise<SweepResult> {
  const result: SweepResult = { removed: 0, repaired: 0 };
  const unsent = await AttachmentModel.find(
    { seq: { $exists: false }, createdAt: { $lt: before } },
    { uploadId: 1, chunks: 1, state: 1 },
  )
    .limit(PER_PASS)
    .lean();
  for (const doc of unsent) {
    // A message with the same id carries it: the instance stopped between storing the message
    // and noting its number on the attachment. Note it now; the file is the message's.
    const message = await MessageModel.findById(doc._id, { seq: 1, kind: 1 }).lean();
    if (message && message.kind === "attachment") {
      await AttachmentModel.updateOne({ _id: doc._id, seq: { $exists: false } }, { $set: { seq: message.seq } });
      result.repaired += 1;
      continue;
    }
    // Only if it is still unsent: a send that got there first keeps its file.
    const gone = await AttachmentModel.deleteOne({ _id: doc._id, uploadId: doc.uploadId, seq: { $exists: false } });
    if (gone.deletedCount !== 1) continue;
    await deleteChunks(doc.uploadId, doc.state === "ready" ? doc.chunks : undefined);
    result.removed += 1;
  }
  return result;
}

/** Sweeps every `everyMs` on this instance; several instances may run it (each removal is conditional). */
export function scheduleAttachmentSweeps(options: { maxAgeMs: number; everyMs: number; log: Logger }): () => void {
  const { maxAgeMs, everyMs, log } = options;
  return repeatEvery(
    everyMs,
    async () => {
      const { removed, repaired } = await sweepUnsentAttachments(new Date(Date.now() - maxAgeMs));
      if (removed + repaired > 0) log.info({ removed, repaired }, "swept uploads that no message carries");
    },
    (err) => log.warn({ err: err instanceof Error ? err.message : err }, "sweeping unsent uploads failed; will try again"),
  );
}
