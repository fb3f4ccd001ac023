/** What members are told about a stored attachment, opened from its sealed metadata. */
import type { AttachmentInfo } from "../protocol.js";
import { bytes, openingKey, type RoomKey } from "../rooms.js";
import { attachmentKey, openBlob, type SealedBlob } from "./cipher.js";

type Stored = {
  _id: string | null;
  roomId: string;
  clientId: string;
  size: number;
  keyId: number;
  salt: Buffer | { buffer: Uint8Array };
  meta?: { iv: unknown; ct: unknown; tag: unknown } | null;
};

type Meta = { name: string; type: string; width?: number; height?: number; previewWidth?: number; previewHeight?: number };

/**
 * The attachment's own key (see cipher.ts), from the room key version it was made with (a
 * CipherError if the room no longer has it). Callers first `ensureKeys` for `doc.keyId`: the
 * room may have been re-keyed on another instance since this one read its keys.
 */
export const keyOfStored = (roomKey: RoomKey, doc: Pick<Stored, "_id" | "roomId" | "salt" | "keyId">) =>
  attachmentKey(openingKey(roomKey, doc.keyId), bytes(doc.salt), doc.roomId, String(doc._id));

export const sealedOf = (blob: { iv: unknown; ct: unknown; tag: unknown }): SealedBlob => ({
  iv: bytes(blob.iv as Buffer),
  ct: bytes(blob.ct as Buffer),
  tag: bytes(blob.tag as Buffer),
});

/** Throws a CipherError when the metadata fails authentication. */
export function describeAttachment(roomKey: RoomKey, doc: Stored): AttachmentInfo {
  if (!doc.meta) throw new Error("attachment has no metadata yet");
  const meta = JSON.parse(
    openBlob(keyOfStored(roomKey, doc), "meta", String(doc._id), sealedOf(doc.meta)).toString("utf8"),
  ) as Meta;
  return {
    id: doc.clientId,
    name: meta.name,
    type: meta.type,
    size: doc.size,
    ...(meta.width && meta.height && meta.previewWidth && meta.previewHeight
      ? { image: { width: meta.width, height: meta.height, previewWidth: meta.previewWidth, previewHeight: meta.previewHeight } }
      : {}),
  };
}
