/** Reading a stored attachment back for a member: its metadata and a stream of its plaintext. */
import { pipeline, type Readable } from "node:stream";
import { isObjectIdHex } from "../../ids.js";
import { messageId } from "../message.model.js";
import type { AttachmentInfo } from "../protocol.js";
import { CipherError } from "../cipher.js";
import { ensureKeys, type RoomKey } from "../rooms.js";
import { decryptChunks, openBlob } from "./cipher.js";
import { describeAttachment, keyOfStored, sealedOf } from "./describe.js";
import { AttachmentModel } from "./model.js";
import { chunkReader } from "./storage.js";

export type AttachmentPlace = { roomId: string; senderId: string; clientId: string };

async function readyAttachment(place: AttachmentPlace) {
  if (!isObjectIdHex(place.senderId)) return undefined;
  const doc = await AttachmentModel.findById(messageId(place.roomId, place.senderId, place.clientId)).lean();
  return doc?.state === "ready" && doc.roomId === place.roomId ? doc : undefined;
}

/** Answers undefined (served as 404) when the room no longer holds the key version or it fails. */
async function unlessUnreadable<T>(roomKey: RoomKey, keyId: number, open: () => T): Promise<T | undefined> {
  await ensureKeys(roomKey, [keyId]);
  try {
    return open();
  } catch (err) {
    if (err instanceof CipherError) return undefined;
    throw err;
  }
}

/**
 * The attachment and its plaintext as a stream (each chunk released only once authenticated; a
 * damaged chunk ends the stream with a CipherError). Undefined if there is none ready.
 */
export async function openAttachment(
  roomKey: RoomKey,
  place: AttachmentPlace,
): Promise<{ info: AttachmentInfo; content: Readable } | undefined> {
  const doc = await readyAttachment(place);
  if (!doc) return undefined;
  const opened = await unlessUnreadable(roomKey, doc.keyId, () => ({
    info: describeAttachment(roomKey, doc),
    key: keyOfStored(roomKey, doc),
  }));
  if (!opened) return undefined;
  // pipeline, not pipe: a chunk that vanished (deleted during the download) fails the reader,
  // and that error must end the response, not go unheard and take the process down.
  const content = pipeline(chunkReader(doc.uploadId, doc.chunks), decryptChunks(opened.key, String(doc._id)), () => undefined);
  return { info: opened.info, content };
}

/** The re-encoded WebP preview of an image attachment, or undefined. */
export async function openPreview(roomKey: RoomKey, place: AttachmentPlace): Promise<Buffer | undefined> {
  const doc = await readyAttachment(place);
  const preview = doc?.preview;
  if (!doc || !preview) return undefined;
  return unlessUnreadable(roomKey, doc.keyId, () =>
    openBlob(keyOfStored(roomKey, doc), "preview", String(doc._id), sealedOf(preview)),
  );
}
