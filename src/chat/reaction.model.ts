import mongoose, { Schema, type InferSchemaType } from "mongoose";

const reactionSchema = new Schema({
  /**
   * A keyed hash of (room, message, member, emoji) under a key derived from the room's first data
   * key (reactions.ts): the same reaction said twice is the same document, so it counts once,
   * while the id tells a reader of the database nothing about which emoji it is.
   */
  _id: { type: String },
  roomId: { type: String, required: true },
  /** The message reacted to. */
  seq: { type: Number, required: true },
  userId: { type: Schema.Types.ObjectId, required: true },
  /** The emoji, sealed like a message's text (kind "reaction", bound to room, message and member). */
  v: { type: Number, required: true },
  keyId: { type: Number, required: true },
  iv: { type: Buffer, required: true },
  ct: { type: Buffer, required: true },
  mac: { type: Buffer, required: true },
  createdAt: { type: Date, required: true },
});
reactionSchema.index({ roomId: 1, seq: 1 });

export type ReactionDoc = InferSchemaType<typeof reactionSchema>;
export const ReactionModel = mongoose.model("Reaction", reactionSchema);
