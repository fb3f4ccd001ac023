/**
 * A reaction's cryptography, apart from how it is written: each emoji is sealed as text is, bound
 * by the MAC to the room, the message, the member and the kind "reaction", so a sealed emoji moved
 * to another message or member does not open; an entry's id is a keyed hash of the same, so "is
 * this one there already" needs no decryption and says nothing about which emoji it is. History
 * reads reactions through this module alone (reactions.ts writes them).
 */
import { createHmac, hkdfSync } from "node:crypto";
import { CipherError, openMessage, sealMessage, type SealedMessage } from "./cipher.js";
import { REACTIONS, type Reaction, type ReactionCount } from "./protocol.js";
import { bytes, openingKey, sealingKey, type RoomKey } from "./rooms.js";

const REACTION_KIND = "reaction";

/** Where a reaction sits: which member's, on which message of which room. */
export type ReactionPlace = { roomId: string; seq: number; userId: string };

type Binary = Buffer | { buffer: Uint8Array };
/** A reaction as the message stores it. */
export type StoredReaction = { id: string; userId: unknown; v: number; keyId: number; iv: Binary; ct: Binary; mac: Binary };

// The id key comes from the room's first data key, which a room keeps until it is deleted
// (docs/decisions/004): re-keying must not change which entry "Alice's 👍 on 7" is.
const idKeys = new WeakMap<Buffer, Buffer>();
/** The id of `emoji` at `place`: the same for the same reaction under every key version. */
export function reactionId(key: RoomKey, { roomId, seq, userId }: ReactionPlace, emoji: string): string {
  const first = key.versions[0];
  if (!first) throw new CipherError("the room has no data key");
  let idKey = idKeys.get(first.dataKey);
  if (!idKey) {
    idKey = Buffer.from(hkdfSync("sha256", first.dataKey, "", "duet reaction id", 32));
    idKeys.set(first.dataKey, idKey);
  }
  return createHmac("sha256", idKey)
    .update(JSON.stringify([roomId, seq, userId, emoji]))
    .digest("base64url");
}

const isReaction = (emoji: string): emoji is Reaction => Object.hasOwn(REACTIONS, emoji);

/** Seals `emoji` at `place` with the room's newest key. */
export function sealReaction(key: RoomKey, place: ReactionPlace, emoji: Reaction): SealedMessage {
  const sealing = sealingKey(key);
  return sealMessage(
    sealing.dataKey,
    { roomId: place.roomId, seq: place.seq, keyId: sealing.keyId, senderId: place.userId, kind: REACTION_KIND },
    emoji,
  );
}

/** Opens a sealed emoji; undefined when it fails authentication or is not a reaction Duet offers. */
export function openReaction(
  key: RoomKey,
  place: ReactionPlace,
  sealed: { v: number; keyId: number; iv: Buffer; ct: Buffer; mac: Buffer },
): Reaction | undefined {
  try {
    const emoji = openMessage(
      openingKey(key, sealed.keyId),
      { roomId: place.roomId, seq: place.seq, senderId: place.userId, kind: REACTION_KIND },
      sealed,
    );
    return isReaction(emoji) ? emoji : undefined;
  } catch (err) {
    if (err instanceof CipherError) return undefined;
    throw err;
  }
}

/** A message's stored reactions as the page shows them (one that does not open is left out). */
export function countReactions(key: RoomKey, roomId: string, seq: number, stored: readonly StoredReaction[]): ReactionCount[] {
  const counts: ReactionCount[] = [];
  for (const r of stored) {
    const userId = String(r.userId);
    const emoji = openReaction(
      key,
      { roomId, seq, userId },
      { v: r.v, keyId: r.keyId, iv: bytes(r.iv), ct: bytes(r.ct), mac: bytes(r.mac) },
    );
    if (!emoji) continue;
    const count = counts.find((c) => c.emoji === emoji);
    if (count) count.by.push(userId);
    else counts.push({ emoji, by: [userId] });
  }
  return counts;
}
