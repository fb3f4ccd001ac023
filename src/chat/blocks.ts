/**
 * Who has blocked whom in a room, as every write checks it. MongoDB holds the truth
 * (`room.blockedBy`); Redis holds a copy per room that the send path checks inside the one
 * script call that numbers a batch (counters.ts), so a send costs no read of its own. Edits and
 * deletes ask Redis in a small script of their own. A room Redis does not hold (first use, a
 * restarted or flushed Redis: the copy counts only within the Redis run it was read in) is read
 * from MongoDB and filled in.
 *
 * A change takes effect at once on every instance: it drops the copy and raises the room's
 * generation before and after writing MongoDB, and a fill is kept only if no change began since
 * the MongoDB read it carries, and never while a change is being written. So once the block's
 * request has returned, the next check anywhere reads MongoDB, and finds it. If Redis cannot take
 * the first step the change is refused; if the last step is lost, no fill is kept for 30 s.
 * While Redis is unreachable, writes check MongoDB.
 */
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import { blocksKey, blocksScript, changeBlocksScript, runIdReader } from "./counters.js";
import { RoomModel } from "./room.model.js";

export type RoomBlocks = {
  /** The ids of the members who have blocked the other one in `roomId`. */
  blockedBy(roomId: string): Promise<string[]>;
};

export type RoomAction = "block" | "unblock" | "hide";

/** MongoDB's answer: the blockers of each room asked about (rooms that do not exist: none). */
export async function roomBlockers(roomIds: readonly string[]): Promise<Map<string, string[]>> {
  const rooms = await RoomModel.find({ _id: { $in: roomIds } }, { blockedBy: 1 }).lean();
  return new Map(rooms.map((room) => [String(room._id), (room.blockedBy ?? []).map(String)]));
}

/**
 * Writes a change of blocks to MongoDB (`write`) so that every instance checks it at once: the
 * rooms' copies in Redis are dropped before and after (see above). Throws, changing nothing,
 * when Redis cannot be told first.
 */
export async function changeBlocks<T>(redis: Redis, roomIds: readonly string[], write: () => Promise<T>): Promise<T> {
  if (roomIds.length === 0) return write();
  await changeBlocksScript(redis, roomIds.map(blocksKey), ["begin"]);
  const written = await write();
  // If this is lost, fills stay refused until the hold ends, after which they read the change.
  await changeBlocksScript(redis, roomIds.map(blocksKey), ["end"]).catch(() => undefined);
  return written;
}

/**
 * A member blocks or unblocks the other one, or hides the conversation from their own list.
 * The caller announces a block to the room's open chats.
 */
export async function applyRoomAction(redis: Redis, roomId: string, userId: string, action: RoomAction): Promise<void> {
  const me = new mongoose.Types.ObjectId(userId);
  if (action === "hide") {
    await RoomModel.updateOne({ _id: roomId }, { $addToSet: { hiddenFor: me } });
    return;
  }
  const update = action === "block" ? { $addToSet: { blockedBy: me } } : { $pull: { blockedBy: me } };
  await changeBlocks(redis, [roomId], () => RoomModel.updateOne({ _id: roomId }, update));
}

/** Blocks as edits and deletes check them: from Redis, filled from MongoDB when Redis has none. */
export function roomBlocks(redis: Redis): RoomBlocks {
  const runs = runIdReader(redis);
  const fromMongo = async (roomId: string) => (await roomBlockers([roomId])).get(roomId) ?? [];
  return {
    async blockedBy(roomId) {
      if (redis.status !== "ready") return fromMongo(roomId);
      const run = await runs.current();
      let gen = "";
      let by = "";
      for (let attempt = 1; ; attempt++) {
        const state = String(await blocksScript(redis, [blocksKey(roomId)], [run.id, gen, by]));
        if (state.startsWith("=")) return state.length > 1 ? state.slice(1).split(",") : [];
        // A change began since the last read: read again; the third time MongoDB's answer is used.
        gen = attempt >= 2 ? "*" : state.slice(1);
        by = (await fromMongo(roomId)).join(",");
      }
    },
  };
}
