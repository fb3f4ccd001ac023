/** Finding and creating the one room of a pair of users, and keeping its data key at hand. */
import { randomBytes } from "node:crypto";
import mongoose from "mongoose";
import { CipherError, generateDataKey, unwrapDataKey, wrapDataKey, type MasterKey, type WrappedKey } from "./cipher.js";
import { finishDeletion } from "./room-deletion.js";
import { RoomModel } from "./room.model.js";

/** One version of a room's data key. */
export type KeyVersion = { keyId: number; dataKey: Buffer };

/**
 * A room's data keys, oldest first: the last seals new messages, any opens what it sealed.
 * The cache updates a ring in place, so a socket holding it sees a re-key without asking again;
 * `refresh` reads the room again (at most once a second: a damaged key id must not cost a read
 * per message).
 */
export type RoomKey = { versions: KeyVersion[]; refresh(): Promise<void> };

/** The key new messages are sealed with: the newest. */
export function sealingKey(ring: RoomKey): KeyVersion {
  const newest = ring.versions.at(-1);
  if (!newest) throw new CipherError("the room has no data key");
  return newest;
}

/** The data key of version `keyId`; CipherError if the room has none (damaged, or shredded). */
export function openingKey(ring: RoomKey, keyId: number): Buffer {
  const version = ring.versions.find((v) => v.keyId === keyId);
  if (!version) throw new CipherError(`the room has no data key ${keyId}`);
  return version.dataKey;
}

/** Reads the room's keys again if one of `keyIds` is not in the ring (re-keyed elsewhere). */
export async function ensureKeys(ring: RoomKey, keyIds: Iterable<number | null | undefined>): Promise<void> {
  for (const keyId of keyIds) {
    if (typeof keyId === "number" && !ring.versions.some((v) => v.keyId === keyId)) return ring.refresh();
  }
}

/** A ring of one fixed key, for tools that seal with a key they hold (benchmarks, tests). */
export function fixedRoomKey(dataKey: Buffer, keyId = 1): RoomKey {
  return { versions: [{ keyId, dataKey }], refresh: () => Promise.resolve() };
}

const pairKeyOf = (a: string, b: string) => [a, b].sort().join(":");

/** A room id as it appears in URLs: 16 random bytes, base64url (22 characters). */
export const ROOM_ID = "[A-Za-z0-9_-]{22}";
const newRoomId = () => randomBytes(16).toString("base64url");
/** Whether `id` can be a room's id at all (checked before any query). */
const ROOM_ID_ALONE = new RegExp(`^${ROOM_ID}$`);
export const isRoomId = (id: string): boolean => ROOM_ID_ALONE.test(id);

/** The room of `a` and `b`, created on first use with a fresh wrapped data key. */
export async function roomBetween(master: MasterKey, a: string, b: string): Promise<string> {
  if (a === b) throw new Error("a room needs two different users");
  const pairKey = pairKeyOf(a, b);
  const existing = await RoomModel.findOne({ pairKey }, { _id: 1, deletedAt: 1 }).lean();
  // A deletion that stopped half-way (its keys are gone already) is finished first.
  if (existing?.deletedAt) await finishDeletion(existing._id);
  else if (existing) return existing._id;
  const id = newRoomId();
  try {
    await RoomModel.create({
      _id: id,
      members: [a, b].sort(),
      pairKey,
      key: wrapDataKey(master, id, generateDataKey()),
      keyRotatedAt: new Date(),
    });
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
  return a !== b && (await RoomModel.exists({ pairKey: pairKeyOf(a, b), deletedAt: { $exists: false } })) !== null;
}

/** The wrapped keys of a room as stored, oldest first. */
export function wrappedVersions(room: {
  key?: StoredWrappedKey | null;
  keyId?: number | null;
  keys?: Array<{ keyId: number; key: StoredWrappedKey }> | null;
}): Array<{ keyId: number; wrapped: WrappedKey }> {
  if (!room.key) return [];
  return [{ keyId: room.keyId ?? 1, key: room.key }, ...(room.keys ?? [])].map((v) => ({
    keyId: v.keyId,
    wrapped: { masterKeyId: v.key.masterKeyId, iv: bytes(v.key.iv), tag: bytes(v.key.tag), wrapped: bytes(v.key.wrapped) },
  }));
}

type StoredWrappedKey = {
  masterKeyId: string;
  iv: Buffer | { buffer: Uint8Array };
  tag: Buffer | { buffer: Uint8Array };
  wrapped: Buffer | { buffer: Uint8Array };
};

/**
 * Unwrapped room keys, kept in memory (bounded) so sending a message costs no key lookup.
 * A room whose key was deleted fails here, and its messages stay unreadable. A ring older than
 * `maxAgeMs` is read again when next asked for, so a re-key announced while this instance was
 * not listening still reaches it.
 */
export function roomKeyCache(masters: readonly MasterKey[], options: { limit?: number; maxAgeMs?: number } = {}) {
  const limit = options.limit ?? 10_000;
  const maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
  const cache = new Map<string, { ring: RoomKey; loadedAt: number }>();

  const load = async (roomId: string): Promise<KeyVersion[]> => {
    const room = await RoomModel.findById(roomId, { key: 1, keyId: 1, keys: 1 }).lean();
    if (!room) throw new Error(`room ${roomId} does not exist`);
    const versions = wrappedVersions(room).map((v) => ({ keyId: v.keyId, dataKey: unwrapDataKey(masters, roomId, v.wrapped) }));
    if (versions.length === 0) throw new CipherError("the room key was deleted");
    return versions;
  };

  const ringFor = (roomId: string, versions: KeyVersion[]) => {
    let lastRead = 0;
    let reading: Promise<void> | undefined;
    const entry = {
      loadedAt: Date.now(),
      ring: {
        versions,
        refresh(): Promise<void> {
          if (reading) return reading;
          if (Date.now() - lastRead < 1_000) return Promise.resolve();
          reading = load(roomId)
            .then((fresh) => {
              entry.ring.versions = fresh;
              entry.loadedAt = Date.now();
            })
            .finally(() => {
              lastRead = Date.now();
              reading = undefined;
            });
          return reading;
        },
      },
    };
    return entry;
  };

  return {
    async keyFor(roomId: string): Promise<RoomKey> {
      const hit = cache.get(roomId);
      if (hit) {
        // Map keeps insertion order: re-inserting marks it most recently used.
        cache.delete(roomId);
        cache.set(roomId, hit);
        if (Date.now() - hit.loadedAt > maxAgeMs) {
          hit.loadedAt = Date.now();
          // Unreachable database: the keys held still seal and open; read again next time.
          hit.ring.versions = await load(roomId).catch(() => ((hit.loadedAt = 0), hit.ring.versions));
        }
        return hit.ring;
      }
      const entry = ringFor(roomId, await load(roomId));
      cache.set(roomId, entry);
      if (cache.size > limit) cache.delete(cache.keys().next().value as string);
      return entry.ring;
    },
    /** Reads a cached room's keys again now (a re-key was announced); unknown rooms are left. */
    async reload(roomId: string): Promise<void> {
      const hit = cache.get(roomId);
      if (!hit) return;
      hit.ring.versions = await load(roomId);
      hit.loadedAt = Date.now();
    },
    /** Marks every cached ring old, so each is read again when next asked for. */
    ageAll() {
      for (const entry of cache.values()) entry.loadedAt = 0;
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
