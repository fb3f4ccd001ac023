/**
 * Who has blocked whom in a room, as every write frame checks it: read from MongoDB, cached per
 * instance for at most a couple of seconds, and forgotten at once when a block event arrives. A
 * block event lost on the way (Redis pub/sub is at-most-once) therefore delays a block by the
 * cache's lifetime, never forever.
 */
import mongoose from "mongoose";
import { RoomModel } from "./room.model.js";

const FRESH_MS = 2_000;
const MAX_ROOMS = 10_000;

export type RoomBlocks = {
  /** The ids of the members who have blocked the other one in `roomId`. */
  blockedBy(roomId: string): Promise<string[]>;
  forget(roomId: string): void;
};

export type RoomAction = "block" | "unblock" | "hide";

/**
 * A member blocks or unblocks the other one, or hides the conversation from their own list.
 * A block is enforced from MongoDB by every write (see above); the caller announces it.
 */
export async function applyRoomAction(roomId: string, userId: string, action: RoomAction): Promise<void> {
  const me = new mongoose.Types.ObjectId(userId);
  const update =
    action === "block"
      ? { $addToSet: { blockedBy: me } }
      : action === "unblock"
        ? { $pull: { blockedBy: me } }
        : { $addToSet: { hiddenFor: me } };
  await RoomModel.updateOne({ _id: roomId }, update);
}

export function roomBlocks(now = () => Date.now()): RoomBlocks {
  const cache = new Map<string, { by: string[]; at: number }>();
  return {
    async blockedBy(roomId) {
      const hit = cache.get(roomId);
      if (hit && now() - hit.at < FRESH_MS) return hit.by;
      const at = now();
      const room = await RoomModel.findById(roomId, { blockedBy: 1 }).lean();
      const by = (room?.blockedBy ?? []).map(String);
      if (cache.size >= MAX_ROOMS) cache.clear();
      cache.set(roomId, { by, at });
      return by;
    },
    forget: (roomId) => void cache.delete(roomId),
  };
}
