/**
 * Encryption at rest for attachments, in bounded chunks so no file is ever held whole in memory.
 *
 * Key: each attachment has its own 256-bit key, derived (HKDF-SHA256) from the room's data key
 * with a random 32-byte salt and an info string that names the room and the attachment id (which
 * is its message's id). A copy of an attachment's chunks under another room or message therefore
 * derives another key and does not open.
 *
 * Content: AES-256-GCM per 64 KiB of plaintext. The nonce is the chunk's index (unique under a
 * key used for one file only); the additional data binds the attachment id, the index and
 * whether the chunk is the last one, so chunks cannot be reordered, dropped, duplicated or the
 * file cut short without failing authentication. A chunk's plaintext is released only after its
 * tag verified. Name, type and the image preview are sealed with the same key (their own
 * additional data), so no plaintext byte of a file, its name or its type is stored.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { CipherError } from "../cipher.js";

export const ATTACHMENT_CIPHER_VERSION = 1;
/** Plaintext bytes per encrypted chunk. */
export const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
/** Bytes per stored chunk: ciphertext and its GCM tag. */
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES;

export type SealedBlob = { iv: Buffer; ct: Buffer; tag: Buffer };

/** The key of one attachment: the room key, a fresh salt, the room and the attachment id. */
export function attachmentKey(roomDataKey: Buffer, salt: Buffer, roomId: string, attachmentId: string): Buffer {
  if (salt.length !== 32) throw new CipherError("attachment salt is malformed");
  const info = `duet attachment v${ATTACHMENT_CIPHER_VERSION}\0${roomId}\0${attachmentId}`;
  return Buffer.from(hkdfSync("sha256", roomDataKey, salt, info, 32));
}

export const newSalt = () => randomBytes(32);

function nonceOf(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(BigInt(index), 4);
  return nonce;
}

function chunkAad(attachmentId: string, index: number, final: boolean): Buffer {
  const id = Buffer.from(attachmentId);
  const aad = Buffer.alloc(4 + id.length + 8 + 1);
  aad.writeUInt32BE(id.length, 0);
  id.copy(aad, 4);
  aad.writeBigUInt64BE(BigInt(index), 4 + id.length);
  aad[aad.length - 1] = final ? 1 : 0;
  return Buffer.concat([Buffer.from("duet-attachment-chunk:v1:"), aad]);
}

function sealChunk(key: Buffer, attachmentId: string, index: number, final: boolean, plain: Buffer): Buffer {
  const cipher = createCipheriv("aes-256-gcm", key, nonceOf(index));
  cipher.setAAD(chunkAad(attachmentId, index, final));
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function openChunk(key: Buffer, attachmentId: string, index: number, final: boolean, sealed: Buffer): Buffer {
  if (sealed.length < TAG_BYTES || sealed.length > SEALED_CHUNK_BYTES) throw new CipherError("attachment chunk is malformed");
  if (!final && sealed.length !== SEALED_CHUNK_BYTES) throw new CipherError("attachment chunk is malformed");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonceOf(index));
    decipher.setAAD(chunkAad(attachmentId, index, final));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new CipherError("attachment chunk failed authentication");
  }
}

/**
 * Plaintext in, sealed chunks out (one per 64 KiB, the last one marked final, an empty file one
 * empty final chunk). Holds at most one chunk of plaintext.
 */
export function encryptChunks(key: Buffer, attachmentId: string): Transform {
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  return new Transform({
    readableObjectMode: true,
    transform(data: Buffer, _encoding, done: TransformCallback) {
      pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
      // Keep the last full chunk back: only the end of the input says whether it is the final one.
      while (pending.length > CHUNK_BYTES) {
        this.push(sealChunk(key, attachmentId, index++, false, pending.subarray(0, CHUNK_BYTES)));
        pending = pending.subarray(CHUNK_BYTES);
      }
      done();
    },
    flush(done: TransformCallback) {
      this.push(sealChunk(key, attachmentId, index++, true, pending));
      done();
    },
  });
}

/**
 * Opens sealed chunks given one by one, in order (object mode in, bytes out); fails with a
 * CipherError on the first chunk that does not authenticate, and if the last one is not final.
 */
export function decryptChunks(key: Buffer, attachmentId: string): Transform {
  let held: Buffer | undefined;
  let index = 0;
  return new Transform({
    writableObjectMode: true,
    transform(sealed: Buffer, _encoding, done: TransformCallback) {
      try {
        // One chunk is held back: only the next one (or the end) says whether it was the last.
        if (held) this.push(openChunk(key, attachmentId, index++, false, held));
        held = sealed;
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (!held) throw new CipherError("attachment has no chunks");
        this.push(openChunk(key, attachmentId, index++, true, held));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}

const blobAad = (purpose: string, attachmentId: string) => Buffer.from(`duet-attachment-${purpose}:v1:${attachmentId}`);

/** Seals a small value (the name and type, the preview) under the attachment's key. */
export function sealBlob(key: Buffer, purpose: "meta" | "preview", attachmentId: string, plain: Buffer): SealedBlob {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(blobAad(purpose, attachmentId));
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv, ct, tag: cipher.getAuthTag() };
}

export function openBlob(key: Buffer, purpose: "meta" | "preview", attachmentId: string, sealed: SealedBlob): Buffer {
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.iv);
    decipher.setAAD(blobAad(purpose, attachmentId));
    decipher.setAuthTag(sealed.tag);
    return Buffer.concat([decipher.update(sealed.ct), decipher.final()]);
  } catch {
    throw new CipherError(`attachment ${purpose} failed authentication`);
  }
}
