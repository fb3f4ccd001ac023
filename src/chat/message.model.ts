import mongoose, { Schema, type InferSchemaType } from "mongoose";

const messageSchema = new Schema({
  /**
   * Derived from room, sender and client id (see `messageId`), so a retried send collides with
   * the first one on the primary key, and finding it is a lookup by id, which every
   * MongoDB-protocol server indexes. That is the only uniqueness a retry needs, so there is no
   * second index on (room, sender, client id) to slow every insert (docs/decisions/018).
   */
  _id: { type: String },
  roomId: { type: String, required: true },
  /**
   * Per room, increasing from 1: clients resume from the last one they hold. A number handed out
   * for a write that failed (or was a retried duplicate) stays unused, so clients tolerate gaps.
   */
  seq: { type: Number, required: true },
  senderId: { type: Schema.Types.ObjectId, required: true },
  /** The sender's own id for the message: a retried send with the same id is not stored twice. */
  clientId: { type: String, required: true },
  /**
   * "deleted" keeps the number (so clients see no gap) but no longer any content. "void" marks a
   * number whose write never came (see gaps.ts): it has no sender and is never shown.
   * "attachment" is a file with its caption (chat/attachments/).
   */
  kind: { type: String, required: true, enum: ["text", "attachment", "deleted", "void"], default: "text" },
  v: { type: Number },
  keyId: { type: Number },
  iv: { type: Buffer },
  ct: { type: Buffer },
  mac: { type: Buffer },
  /**
   * The number of the message this one answers (a reply). A number, like `seq`: what the quote
   * shows is read from that message when it is sent, never stored twice (docs/decisions/012).
   */
  replyTo: { type: Number },
  /**
   * Emoji reactions, kept on the message they are about (reactions.ts): a page of history reads
   * them with no second query (FerretDB would scan a separate collection for every page), they go
   * with the message's content, and a change is one conditional write. Each emoji is sealed.
   */
  reactions: {
    type: [
      {
        _id: false,
        id: { type: String, required: true },
        userId: { type: Schema.Types.ObjectId, required: true },
        v: { type: Number, required: true },
        keyId: { type: Number, required: true },
        iv: { type: Buffer, required: true },
        ct: { type: Buffer, required: true },
        mac: { type: Buffer, required: true },
      },
    ],
    default: undefined,
  },
  /** Counts changes to `reactions`: each is written only over the version it was made from. */
  reactionsVersion: { type: Number },
  createdAt: { type: Date, required: true },
  editedAt: { type: Date },
});
messageSchema.index({ roomId: 1, seq: 1 }, { unique: true });

/** The `_id` of a message: one per room, sender and client id. */
export const messageId = (roomId: string, senderId: string, clientId: string) => `${roomId}:${senderId}:${clientId}`;

/** The `_id` of the marker that takes a number no message will have (no sender id has a "void"). */
export const voidId = (roomId: string, seq: number) => `${roomId}:void:${seq}`;

/**
 * The write concern of every write to messages and their attachments: "stored" means on disk. The
 * ack waits for the journal (MongoDB's default for a lone server acknowledges from memory and
 * syncs every 100 ms); a replica set waits for a majority. FerretDB's SQLite commits synchronously.
 */
export const DURABLE_WRITE = { w: "majority", j: true } as const;

export type Message = InferSchemaType<typeof messageSchema>;
export const MessageModel = mongoose.model("Message", messageSchema);
