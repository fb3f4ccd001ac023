/**
 * Encryption at rest for chat messages.
 *
 * Envelope keys: each room has a random 256-bit data key, stored only wrapped (AES-256-GCM) by a
 * master key from config; the wrap is bound to the room id, so a wrapped key copied to another
 * room does not open. Master keys carry ids so they can be rotated: rewrapping touches room keys,
 * never messages. Deleting a room's wrapped key makes its messages unrecoverable.
 *
 * Messages: AES-256-CBC with a fresh random 16-byte IV, then HMAC-SHA256 (encrypt-then-MAC) over
 * version, key id, room id, sequence number, sender, kind, edit time, IV and ciphertext. The MAC
 * is checked in constant time before anything is decrypted, so a ciphertext moved to another
 * room, position or sender, given another edit time, or altered in any bit, is refused without
 * ever reaching the CBC padding check (no padding oracle). Version 1 envelopes (written before
 * sender, kind and edit time were bound) still open, with version 1's MAC.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject,
} from "node:crypto";
import type { MasterKey } from "../master-keys.js";

export { parseMasterKeys, type MasterKey } from "../master-keys.js";

export const CIPHER_VERSION = 2;

export class CipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CipherError";
  }
}

export type WrappedKey = { masterKeyId: string; iv: Buffer; tag: Buffer; wrapped: Buffer };
export type SealedMessage = { v: number; keyId: number; iv: Buffer; ct: Buffer; mac: Buffer };
/** Where a message lives and whose it is: all of it is authenticated by the MAC. */
export type MessagePlace = {
  roomId: string;
  seq: number;
  keyId: number;
  senderId: string;
  /** What the ciphertext is: "text" (default), "attachment", or "reaction" (an emoji). */
  kind?: string;
  /** When it was last edited (ms since epoch); absent if never. */
  editedAt?: number;
};

export function generateDataKey(): Buffer {
  return randomBytes(32);
}

const wrapAad = (roomId: string, masterKeyId: string) => Buffer.from(`duet-room-key:v1:${masterKeyId}:${roomId}`);

export function wrapDataKey(master: MasterKey, roomId: string, dataKey: Buffer): WrappedKey {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", master.key, iv);
  cipher.setAAD(wrapAad(roomId, master.id));
  const wrapped = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return { masterKeyId: master.id, iv, tag: cipher.getAuthTag(), wrapped };
}

export function unwrapDataKey(masters: readonly MasterKey[], roomId: string, wrapped: WrappedKey): Buffer {
  const master = masters.find((m) => m.id === wrapped.masterKeyId);
  if (!master) throw new CipherError(`room key is wrapped by master key "${wrapped.masterKeyId}", which is not configured`);
  try {
    const decipher = createDecipheriv("aes-256-gcm", master.key, wrapped.iv);
    decipher.setAAD(wrapAad(roomId, master.id));
    decipher.setAuthTag(wrapped.tag);
    return Buffer.concat([decipher.update(wrapped.wrapped), decipher.final()]);
  } catch {
    throw new CipherError("room key does not unwrap: wrong master key, wrong room, or altered");
  }
}

// Separate keys for encryption and authentication, both from the one room key. Derived once per
// room key object (the key cache holds it), not per message: two HKDF runs per seal and per
// open showed in the chat profile. Kept as KeyObjects: a Buffer key is imported again on every
// createCipheriv/createHmac call.
const derived = new WeakMap<Buffer, { enc: KeyObject; mac: KeyObject }>();
function subkeys(dataKey: Buffer): { enc: KeyObject; mac: KeyObject } {
  let keys = derived.get(dataKey);
  if (!keys) {
    keys = {
      enc: createSecretKey(Buffer.from(hkdfSync("sha256", dataKey, "", "duet message encryption", 32))),
      mac: createSecretKey(Buffer.from(hkdfSync("sha256", dataKey, "", "duet message authentication", 32))),
    };
    derived.set(dataKey, keys);
  }
  return keys;
}

// The MAC covers version, key id, room id, sequence number, (from version 2) sender, kind and
// edit time, IV and ciphertext, each variable field preceded by its length, so no two different
// field lists hash the same bytes. Written into one buffer, field by field, rather than a Buffer
// per field: this runs for every message stored and sent.
function macOf(macKey: KeyObject, v: number, place: MessagePlace, iv: Buffer, ct: Buffer): Buffer {
  const room = Buffer.byteLength(place.roomId);
  const bound = v >= 2;
  const sender = bound ? Buffer.byteLength(place.senderId) : 0;
  const kind = bound ? Buffer.byteLength(place.kind ?? "text") : 0;
  const extra = bound ? 4 + sender + 4 + kind + 8 : 0;
  const input = Buffer.allocUnsafe(4 + 8 + 4 + room + 4 + 8 + extra + 4 + iv.length + 4 + ct.length);
  let at = input.writeUInt32BE(8, 0);
  at = input.writeUInt32BE(v, at);
  at = input.writeUInt32BE(place.keyId, at);
  at = input.writeUInt32BE(room, at);
  at += input.write(place.roomId, at);
  at = input.writeUInt32BE(8, at);
  at = input.writeBigUInt64BE(BigInt(place.seq), at);
  if (bound) {
    at = input.writeUInt32BE(sender, at);
    at += input.write(place.senderId, at);
    at = input.writeUInt32BE(kind, at);
    at += input.write(place.kind ?? "text", at);
    at = input.writeBigUInt64BE(BigInt(place.editedAt ?? 0), at);
  }
  at = input.writeUInt32BE(iv.length, at);
  at += iv.copy(input, at);
  at = input.writeUInt32BE(ct.length, at);
  ct.copy(input, at);
  return createHmac("sha256", macKey).update(input).digest();
}

export function sealMessage(dataKey: Buffer, place: MessagePlace, plaintext: string): SealedMessage {
  const { enc, mac } = subkeys(dataKey);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-256-cbc", enc, iv);
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return { v: CIPHER_VERSION, keyId: place.keyId, iv, ct, mac: macOf(mac, CIPHER_VERSION, place, iv, ct) };
}

// The numbers the MAC input holds as unsigned 32- and 64-bit fields. A stored value outside them
// (a flipped sign bit, a fraction) is damage like any other, not an exception from the Buffer writes.
const isUint32 = (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff;
const isUint53 = (n: number) => Number.isSafeInteger(n) && n >= 0;

export function openMessage(dataKey: Buffer, place: Omit<MessagePlace, "keyId">, sealed: SealedMessage): string {
  if (sealed.v !== 1 && sealed.v !== CIPHER_VERSION) throw new CipherError(`unknown message format version ${sealed.v}`);
  if (sealed.iv.length !== 16 || sealed.ct.length === 0 || sealed.ct.length % 16 !== 0 || sealed.mac.length !== 32) {
    throw new CipherError("message is malformed");
  }
  if (!isUint32(sealed.keyId) || !isUint53(place.seq) || (place.editedAt !== undefined && !isUint53(place.editedAt))) {
    throw new CipherError("message is malformed");
  }
  const { enc, mac } = subkeys(dataKey);
  const expected = macOf(mac, sealed.v, { ...place, keyId: sealed.keyId }, sealed.iv, sealed.ct);
  if (!timingSafeEqual(expected, sealed.mac)) throw new CipherError("message failed authentication");
  const decipher = createDecipheriv("aes-256-cbc", enc, sealed.iv);
  return Buffer.concat([decipher.update(sealed.ct), decipher.final()]).toString("utf8");
}
