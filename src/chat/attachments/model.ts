import mongoose, { Schema, type InferSchemaType } from "mongoose";

const sealedBlobSchema = new Schema(
  { iv: { type: Buffer, required: true }, ct: { type: Buffer, required: true }, tag: { type: Buffer, required: true } },
  { _id: false },
);

const attachmentSchema = new Schema({
  /**
   * The id of the message that carries it (`messageId(room, sender, clientId)`): an upload
   * retried with the same client id is the same attachment, and the key derivation binds it.
   */
  _id: { type: String },
  roomId: { type: String, required: true },
  senderId: { type: Schema.Types.ObjectId, required: true },
  clientId: { type: String, required: true },
  /** "uploading" until every chunk is stored; only "ready" ones are served or sent. */
  state: { type: String, required: true, enum: ["uploading", "ready"] },
  /** One per upload attempt: chunk ids start with it, so a retry never mixes with a dead attempt. */
  uploadId: { type: String, required: true },
  /** Documents of sealed chunks stored (storage.ts: sixteen 64 KiB chunks each). */
  chunks: { type: Number, required: true, default: 0 },
  /** Plaintext bytes (the ciphertext's length shows it anyway). */
  size: { type: Number, required: true, default: 0 },
  /** The room key version the attachment key was derived from, and the derivation's salt. */
  keyId: { type: Number, required: true },
  salt: { type: Buffer, required: true },
  /** Sealed JSON: name, type, and for images their dimensions. */
  meta: { type: sealedBlobSchema },
  /** Sealed re-encoded WebP preview, for images only. */
  preview: { type: sealedBlobSchema },
  /** The number of the message that carries it, once sent. */
  seq: { type: Number },
  createdAt: { type: Date, required: true },
});
attachmentSchema.index({ roomId: 1, seq: 1 });
attachmentSchema.index({ senderId: 1 });

export type Attachment = InferSchemaType<typeof attachmentSchema>;
export const AttachmentModel = mongoose.model("Attachment", attachmentSchema);

/**
 * Sixteen sealed chunks per document, found by `_id` (`uploadId:n`). Not GridFS: FerretDB 1.24 reads
 * a GridFS file by scanning every chunk of every file (docs/decisions/009-attachments.md).
 */
const chunkSchema = new Schema({ _id: { type: String }, data: { type: Buffer, required: true } }, { versionKey: false });
export const AttachmentChunkModel = mongoose.model("AttachmentChunk", chunkSchema, "attachmentchunks");

export const chunkId = (uploadId: string, n: number) => `${uploadId}:${n}`;
