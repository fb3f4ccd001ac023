import mongoose, { Schema, type InferSchemaType } from "mongoose";

const wrappedKeySchema = new Schema(
  {
    masterKeyId: { type: String, required: true },
    iv: { type: Buffer, required: true },
    tag: { type: Buffer, required: true },
    wrapped: { type: Buffer, required: true },
  },
  { _id: false },
);

const keyVersionSchema = new Schema(
  {
    keyId: { type: Number, required: true },
    key: { type: wrappedKeySchema, required: true },
  },
  { _id: false },
);

const roomSchema = new Schema(
  {
    /** 128 random bits, base64url: unguessable, so a room id alone reveals and grants nothing. */
    _id: { type: String, required: true },
    /** Exactly two user ids, sorted, so the same pair always finds the same room. */
    members: { type: [Schema.Types.ObjectId], required: true },
    pairKey: { type: String, required: true, unique: true },
    /** The room's first data key, wrapped by a master key; `keyId` is its version (1). */
    key: { type: wrappedKeySchema, required: true },
    keyId: { type: Number, required: true, default: 1 },
    /**
     * Data keys added by re-keying, oldest first: new messages are sealed with the last one, and
     * each message names the version it was sealed with, so older ones still open.
     */
    keys: { type: [keyVersionSchema], default: undefined },
    /** When the newest data key was made (absent on rooms made before re-keying: `createdAt`). */
    keyRotatedAt: { type: Date },
    /** Set when a member deleted the conversation: its keys are gone and it is being removed. */
    deletedAt: { type: Date },
    /**
     * About the highest message number stored, written behind the messages (room-activity.ts):
     * numbers are handed out by the sequencer (Redis), which checks its counter against this.
     */
    seq: { type: Number, required: true, default: 0 },
    blockedBy: { type: [Schema.Types.ObjectId], default: [] },
    hiddenFor: { type: [Schema.Types.ObjectId], default: [] },
    /** Members who turned notifications off for this conversation (chat/mute.ts). */
    mutedBy: { type: [Schema.Types.ObjectId], default: [] },
    /** Members who archived the conversation: it shows under "Archived" in their list, new messages or not. */
    archivedBy: { type: [Schema.Types.ObjectId], default: [] },
    lastMessageAt: { type: Date },
    /** Per member (user id → seq): everything up to seq has been read. Drives unread counts and receipts. */
    readUpTo: { type: Map, of: Number, default: {} },
  },
  { timestamps: true },
);
roomSchema.index({ members: 1 });

export type Room = InferSchemaType<typeof roomSchema>;
export const RoomModel = mongoose.model("Room", roomSchema);
