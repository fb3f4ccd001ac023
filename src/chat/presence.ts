/**
 * Who is online: a per-user count of open chat sockets in Redis (across instances), expiring
 * unless a live socket's heartbeat renews it, and last-seen written when the count reaches zero.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { UserModel } from "../accounts/user.model.js";
import type { Hub } from "./hub.js";

export const ONLINE_TTL_S = 90;

export const onlineKey = (userId: string) => `duet:online:${userId}`;

export type PresenceDeps = { redis: Redis; hub: Hub; log: Logger };

/** Counts one more socket for `userId`, tells the room, and answers what the peer's state is. */
export async function goOnline(
  deps: PresenceDeps,
  place: { roomId: string; userId: string; peerId: string },
): Promise<{ online: boolean; lastSeenAt: string | null }> {
  const { redis, hub } = deps;
  await redis.multi().incr(onlineKey(place.userId)).expire(onlineKey(place.userId), ONLINE_TTL_S).exec();
  void hub.publish({ type: "presence", roomId: place.roomId, userId: place.userId, online: true, lastSeenAt: null });
  const peerOnline = Number(await redis.get(onlineKey(place.peerId))) > 0;
  const peer = peerOnline ? null : await UserModel.findById(place.peerId, { lastSeenAt: 1 }).lean();
  return { online: peerOnline, lastSeenAt: peer?.lastSeenAt?.toISOString() ?? null };
}

/** Keeps a live socket's user counted as online. */
export function stillOnline(deps: PresenceDeps, userId: string): void {
  deps.redis.expire(onlineKey(userId), ONLINE_TTL_S).catch(() => undefined);
}

/** Counts one socket less; the last one records when the user was last seen and tells the room. */
export async function goOffline(deps: PresenceDeps, place: { roomId: string; userId: string }): Promise<void> {
  try {
    const left = await deps.redis.decr(onlineKey(place.userId));
    if (left > 0) return;
    await deps.redis.del(onlineKey(place.userId));
    const lastSeenAt = new Date();
    await UserModel.updateOne({ _id: place.userId }, { $set: { lastSeenAt } });
    void deps.hub.publish({
      type: "presence",
      roomId: place.roomId,
      userId: place.userId,
      online: false,
      lastSeenAt: lastSeenAt.toISOString(),
    });
  } catch (err) {
    deps.log.warn({ err: err instanceof Error ? err.message : err }, "could not record last seen");
  }
}
