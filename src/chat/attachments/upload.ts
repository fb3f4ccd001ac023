/**
 * Receiving one attachment: the file streams from the request through the chunk cipher into
 * MongoDB, a chunk at a time. Images are also decoded (sharp, with a pixel limit) into a
 * re-encoded WebP preview without metadata, and their dimensions are recorded. An upload is
 * idempotent by its client id: a retry of one that finished answers the stored attachment; a
 * retry of one that died replaces it.
 */
import { randomBytes } from "node:crypto";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import mongoose from "mongoose";
import sharp from "sharp";
import { AppError } from "../../errors.js";
import { DURABLE_WRITE, messageId } from "../message.model.js";
import type { AttachmentInfo } from "../protocol.js";
import { ensureKeys, sealingKey, type RoomKey } from "../rooms.js";
import { attachmentKey, encryptChunks, newSalt, sealBlob } from "./cipher.js";
import { describeAttachment } from "./describe.js";
import { AttachmentModel } from "./model.js";
import { chunkWriter, deleteChunks } from "./storage.js";

/** Images shown inline get a preview at most this wide and high. */
export const PREVIEW_MAX_SIDE = 1280;
/** Decompression bombs: an image that decodes to more pixels than this gets no preview. */
export const PREVIEW_MAX_PIXELS = 40_000_000;
const PREVIEW_FORMATS = new Set(["jpeg", "png", "webp", "gif", "avif"]);
const DURABLE = { writeConcern: DURABLE_WRITE };

export type UploadPlace = { roomId: string; senderId: string; clientId: string; key: RoomKey };
export type IncomingFile = { stream: Readable & { truncated?: boolean }; name: string; type: string };

export const fileTooLarge = (maxBytes: number) =>
  new AppError(413, "file_too_large", `That file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`);

/** A file name as it may be shown and offered for saving: no path, no control characters. */
export function cleanName(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  const name = Array.from(base.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, "").trim())
    .slice(0, 200)
    .join("");
  return name === "" || name === "." || name === ".." ? "file" : name;
}

export const cleanType = (raw: string) =>
  /^[a-z0-9][a-z0-9.+-]{0,63}\/[a-z0-9][a-z0-9.+-]{0,63}$/i.test(raw) ? raw.toLowerCase() : "application/octet-stream";

type Preview = { data: Buffer; width: number; height: number; previewWidth: number; previewHeight: number };

/** Decodes the image as it streams by; resolves undefined for anything that is not one we show. */
function previewOf(source: Readable): Promise<Preview | undefined> {
  const image = sharp({ limitInputPixels: PREVIEW_MAX_PIXELS, animated: false, failOn: "error" });
  const done = (async () => {
    const meta = await image.clone().metadata();
    if (!meta.format || !PREVIEW_FORMATS.has(meta.format) || !meta.width || !meta.height) return undefined;
    const turned = (meta.orientation ?? 1) >= 5;
    const { data, info } = await image
      .clone()
      .rotate()
      .resize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, { fit: "inside", withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    return {
      data,
      width: turned ? meta.height : meta.width,
      height: turned ? meta.width : meta.height,
      previewWidth: info.width,
      previewHeight: info.height,
    };
  })();
  source.pipe(image);
  return done.catch(() => {
    // Not an image (or a damaged one): the upload goes on as a plain file, unslowed.
    source.unpipe(image);
    source.resume();
    return undefined;
  });
}

/** Stores `file` for `place`, or answers the attachment a finished earlier attempt stored. */
export async function receiveAttachment(
  place: UploadPlace,
  file: IncomingFile,
  maxBytes: number,
): Promise<{ attachment: AttachmentInfo; duplicate: boolean }> {
  const id = messageId(place.roomId, place.senderId, place.clientId);
  const existing = await AttachmentModel.findById(id).lean();
  if (existing) await ensureKeys(place.key, [existing.keyId]);
  if (existing?.state === "ready") {
    file.stream.resume();
    return { attachment: describeAttachment(place.key, existing), duplicate: true };
  }
  const uploadId = randomBytes(16).toString("base64url");
  const salt = newSalt();
  // The room's newest key, as for new messages; the record names its version.
  const roomKey = sealingKey(place.key);
  try {
    await AttachmentModel.updateOne(
      { _id: id, state: "uploading" },
      {
        $set: { uploadId, salt, keyId: roomKey.keyId, chunks: 0, size: 0, createdAt: new Date() },
        $setOnInsert: { roomId: place.roomId, senderId: place.senderId, clientId: place.clientId, state: "uploading" },
      },
      { upsert: true },
    );
  } catch (err) {
    // Finished by a concurrent attempt in between: that one stands.
    if (!(err instanceof mongoose.mongo.MongoServerError && err.code === 11000)) throw err;
    const done = await AttachmentModel.findById(id).lean();
    if (done?.state !== "ready") throw err;
    await ensureKeys(place.key, [done.keyId]);
    file.stream.resume();
    return { attachment: describeAttachment(place.key, done), duplicate: true };
  }
  // Chunks of an attempt that died midway go; this attempt writes under its own upload id.
  if (existing) void deleteChunks(existing.uploadId).catch(() => undefined);

  const key = attachmentKey(roomKey.dataKey, salt, place.roomId, id);
  const name = cleanName(file.name);
  const type = cleanType(file.type);
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      done(null, chunk);
    },
  });
  const forPreview = type.startsWith("image/") && type !== "image/svg+xml" ? new PassThrough() : undefined;
  const preview = forPreview ? previewOf(forPreview) : Promise.resolve(undefined);
  if (forPreview) file.stream.pipe(forPreview);
  const writer = chunkWriter(uploadId);
  try {
    await pipeline(file.stream, counter, encryptChunks(key, id), writer);
    if (file.stream.truncated) throw fileTooLarge(maxBytes);
    const image = await preview;
    const meta = {
      name,
      type,
      ...(image
        ? { width: image.width, height: image.height, previewWidth: image.previewWidth, previewHeight: image.previewHeight }
        : {}),
    };
    const finished = await AttachmentModel.findOneAndUpdate(
      { _id: id, uploadId, state: "uploading" },
      {
        $set: {
          state: "ready",
          chunks: writer.count(),
          size,
          meta: sealBlob(key, "meta", id, Buffer.from(JSON.stringify(meta))),
          ...(image ? { preview: sealBlob(key, "preview", id, image.data) } : {}),
        },
      },
      { new: true, lean: true, ...DURABLE },
    );
    if (!finished) throw new AppError(409, "upload_replaced", "Another upload of this file took its place.");
    return { attachment: describeAttachment(place.key, finished), duplicate: false };
  } catch (err) {
    forPreview?.destroy();
    await deleteChunks(uploadId, writer.count()).catch(() => undefined);
    await AttachmentModel.deleteOne({ _id: id, uploadId, state: "uploading" }).catch(() => undefined);
    throw err;
  }
}
