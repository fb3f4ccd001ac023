/** Finding and creating the one room of a pair of users, and keeping its data key at hand. */
import { randomBytes } from "node:crypto";
import mongoose from "mongoose";
import { generateDataKey, unwrapDataKey, wrapDataKey, type MasterKey } from "./cipher.js";
import { RoomModel } from "./room.model.js";

export type RoomKey = { dataKey: Buffer; keyId: number };

const pairKeyOf = (a: string, b: string) => [a, b].sort().join(":");

/** The room of `a` and `b`, created on first use with a fresh wrapped data key. */
export async function roomBetween(master: MasterKey, a: string, b: string): Promise<string> {
  if (a === b) throw new Error("a room needs two different users");
  const pairKey = pairKeyOf(a, b);
  const existing = await RoomModel.findOne({ pairKey }, { _id: 1 }).lean();
  if (existing) return existing._id;
  const id = randomBytes(16).toString("base64url");
  try {
    await RoomModel.create({ _id: id, members: [a, b].sort(), pairKey, key: wrapDataKey(master, id, generateDataKey()) });
    return id;
  } catch (err) {
    // Both users opened the room at the same moment: the other insert won, use its room.
    if (!(err instanceof mongoose.mongo.MongoServerError && err.code === 11000)) throw err;
    const winner = await RoomModel.findOne({ pairKey }, { _id: 1 }).lean();
    if (!winner) throw err;
    return winner._id;
  }
}

/** Whether `a` and `b` have a conversation (whoever started it, and even if one side hid it). */
export async function shareRoom(a: string, b: string): Promise<boolean> {
  return a !== b && (await RoomModel.exists({ pairKey: pairKeyOf(a, b) })) !== null;
}

/**
 * Unwrapped room keys, kept in memory (bounded) so sending a message costs no key lookup.
 * A room whose key was deleted fails here, and its messages stay unreadable.
 */
export function roomKeyCache(masters: readonly MasterKey[], limit = 10_000) {
  const cache = new Map<string, RoomKey>();
  return {
    async keyFor(roomId: string): Promise<RoomKey> {
      const hit = cache.get(roomId);
      if (hit) {
        // Map keeps insertion order: re-inserting marks it most recently used.
        cache.delete(roomId);
        cache.set(roomId, hit);
        return hit;
      }
      const room = await RoomModel.findById(roomId, { key: 1, keyId: 1 }).lean();
      if (!room) throw new Error(`room ${roomId} does not exist`);
      const wrapped = {
        masterKeyId: room.key.masterKeyId,
        iv: bytes(room.key.iv),
        tag: bytes(room.key.tag),
        wrapped: bytes(room.key.wrapped),
      };
      const key = { dataKey: unwrapDataKey(masters, roomId, wrapped), keyId: room.keyId };
      cache.set(roomId, key);
      if (cache.size > limit) cache.delete(cache.keys().next().value as string);
      return key;
    },
    forget(roomId: string) {
      cache.delete(roomId);
    },
  };
}

/** Lean queries return BSON Binary for Buffer fields. */
export function bytes(value: Buffer | { buffer: Uint8Array }): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer);
}
