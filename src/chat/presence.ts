/**
 * Who is online, across instances. Each user has a Redis hash of open chat sockets per instance
 * (`duet:online:<user>` → {instance id: count}), and each instance a liveness key it renews on
 * one timer (with the TTLs of its users' hashes, in one pipeline). Counts of an instance whose
 * liveness key is gone, one killed without closing its sockets, are not counted and are removed
 * on the next read: they would otherwise keep a user "online" for as long as any other socket
 * renewed the count, and fill the per-user socket limit with ghosts.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { UserModel } from "../accounts/user.model.js";
import type { Hub } from "./hub.js";

const onlineKey = (userId: string) => `duet:online:${userId}`;
/** Each instance's liveness key is this plus its id (shared with notify/visibility.ts). */
export const INSTANCE_PREFIX = "duet:instance:";

/**
 * The hub channel (a pseudo room id) on which a user's coming and going is told to whoever lists
 * a conversation with them (inbox-socket.ts), whichever of their conversations they opened.
 */
export const presenceChannel = (userId: string) => `presence:${userId}`;

/**
 * Lua: `liveTotal(key, fields, prefix)`, the sum of a per-instance count hash (its HGETALL
 * `fields`) over the instances whose liveness key (prefix .. id) exists; the fields of dead
 * instances are removed as it goes.
 */
export const LIVE_TOTAL = `
local function liveTotal(key, fields, prefix)
  local total = 0
  for j = 1, #fields, 2 do
    if redis.call('EXISTS', prefix .. fields[j]) == 1 then
      total = total + (tonumber(fields[j + 1]) or 0)
    else
      redis.call('HDEL', key, fields[j])
    end
  end
  return total
end`;

// KEYS: users' hashes. ARGV[1]: the liveness key prefix. Counts only live instances' sockets.
export const COUNT_LIVE = `${LIVE_TOTAL}
local out = {}
for i, key in ipairs(KEYS) do out[i] = liveTotal(key, redis.call('HGETALL', key), ARGV[1]) end
return out`;

export type Presence = {
  /** Counts one more socket of `userId` here, tells the room, and answers the peer's state. */
  goOnline(place: { roomId: string; userId: string; peerId: string }): Promise<{ online: boolean; lastSeenAt: string | null }>;
  /** Counts one socket less; the user's last one anywhere records last seen and tells the room. */
  goOffline(place: { roomId: string; userId: string }): Promise<void>;
  /** Open chat sockets per user on live instances, in the order asked. */
  socketCounts(userIds: readonly string[]): Promise<number[]>;
  close(): Promise<void>;
};

export function createPresence(options: {
  redis: Redis;
  hub: Hub;
  log: Logger;
  /** How long an instance counts without renewing; it renews at a third of this. */
  instanceTtlMs?: number;
}): Presence {
  const { redis, hub, log } = options;
  const ttlMs = options.instanceTtlMs ?? 60_000;
  const instance = randomBytes(8).toString("hex");
  const liveness = `${INSTANCE_PREFIX}${instance}`;
  const here = new Map<string, number>();

  const renew = async (): Promise<void> => {
    const batch = redis.pipeline().set(liveness, "1", "PX", ttlMs);
    for (const userId of here.keys()) batch.pexpire(onlineKey(userId), ttlMs * 1.5);
    await batch.exec();
  };
  const renewing = setInterval(
    () =>
      void renew().catch((err: unknown) =>
        log.warn({ err: err instanceof Error ? err.message : err }, "presence renewal failed"),
      ),
    ttlMs / 3,
  );
  renewing.unref();
  // The first socket waits for this instance to count as live; a failure is tried again next time.
  let started: Promise<void> | undefined;

  const socketCounts = async (userIds: readonly string[]): Promise<number[]> => {
    if (userIds.length === 0) return [];
    const counts = (await redis.eval(COUNT_LIVE, userIds.length, ...userIds.map(onlineKey), INSTANCE_PREFIX)) as number[];
    return counts.map(Number);
  };

  const start = async (): Promise<void> => {
    started ??= renew().catch((err: unknown) => {
      started = undefined;
      throw err;
    });
    await started;
  };

  return {
    async goOnline(place) {
      await start();
      here.set(place.userId, (here.get(place.userId) ?? 0) + 1);
      await redis
        .multi()
        .hincrby(onlineKey(place.userId), instance, 1)
        .pexpire(onlineKey(place.userId), ttlMs * 1.5)
        .exec();
      for (const roomId of [place.roomId, presenceChannel(place.userId)])
        void hub.publish({ type: "presence", roomId, userId: place.userId, online: true, lastSeenAt: null });
      const [peerSockets = 0] = await socketCounts([place.peerId]);
      const peer = peerSockets > 0 ? null : await UserModel.findById(place.peerId, { lastSeenAt: 1 }).lean();
      return { online: peerSockets > 0, lastSeenAt: peer?.lastSeenAt?.toISOString() ?? null };
    },
    async goOffline(place) {
      const left = (here.get(place.userId) ?? 1) - 1;
      if (left > 0) here.set(place.userId, left);
      else here.delete(place.userId);
      try {
        const mine = await redis.hincrby(onlineKey(place.userId), instance, -1);
        if (mine <= 0) await redis.hdel(onlineKey(place.userId), instance);
        const [anywhere = 0] = await socketCounts([place.userId]);
        if (anywhere > 0) return;
        const lastSeenAt = new Date();
        await UserModel.updateOne({ _id: place.userId }, { $set: { lastSeenAt } });
        for (const roomId of [place.roomId, presenceChannel(place.userId)])
          void hub.publish({
            type: "presence",
            roomId,
            userId: place.userId,
            online: false,
            lastSeenAt: lastSeenAt.toISOString(),
          });
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : err }, "could not record last seen");
      }
    },
    socketCounts,
    async close() {
      clearInterval(renewing);
      await redis.del(liveness).catch(() => undefined);
    },
  };
}
