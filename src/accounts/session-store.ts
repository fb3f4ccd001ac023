/**
 * Sessions live in Redis (any app instance serves any user; a session can be revoked), keyed by
 * a SHA-256 of the session id: someone who can read Redis still cannot forge a cookie. Each
 * user's sessions are indexed, for "where you're signed in" and "sign out other sessions".
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

export type SessionData = {
  uid?: string;
  createdAt?: number;
  seenAt?: number;
  userAgent?: string;
  ip?: string;
  /**
   * A sign-up waiting for its emailed code: the attempt's id (pending-signups.ts) and the address
   * it was sent to. Sessions from earlier versions may hold another shape here; routes check.
   */
  pending?: { attemptId: string; email: string };
  _expire?: number;
  _maxAge?: number;
};

export const sessionHandle = (id: string) => createHash("sha256").update(id).digest("base64url");
const sessionKey = (handle: string) => `duet:sess:${handle}`;
const userIndexKey = (uid: string) => `duet:user-sessions:${uid}`;

/** The koa-session external store. */
export function redisSessionStore(redis: Redis, absoluteLifetimeMs: number) {
  return {
    async get(id: string): Promise<SessionData | undefined> {
      const raw = await redis.get(sessionKey(sessionHandle(id)));
      return raw ? (JSON.parse(raw) as SessionData) : undefined;
    },
    async set(id: string, data: SessionData, maxAge: number | "session" | undefined): Promise<void> {
      const handle = sessionHandle(id);
      const ttl = typeof maxAge === "number" ? maxAge : absoluteLifetimeMs;
      const tx = redis.multi().set(sessionKey(handle), JSON.stringify(data), "PX", ttl);
      if (data.uid) tx.sadd(userIndexKey(data.uid), handle).pexpire(userIndexKey(data.uid), absoluteLifetimeMs);
      await tx.exec();
    },
    async destroy(id: string): Promise<void> {
      await destroyByHandle(redis, sessionHandle(id));
    },
  };
}

async function destroyByHandle(redis: Redis, handle: string): Promise<void> {
  const raw = await redis.get(sessionKey(handle));
  const uid = raw ? (JSON.parse(raw) as SessionData).uid : undefined;
  const tx = redis.multi().del(sessionKey(handle));
  if (uid) tx.srem(userIndexKey(uid), handle);
  await tx.exec();
}

export type SessionSummary = { handle: string; createdAt: number; seenAt: number; userAgent: string; ip: string };

/** The live sessions of `uid`, most recently used first; prunes index entries that expired. */
export async function listUserSessions(redis: Redis, uid: string): Promise<SessionSummary[]> {
  const handles = await redis.smembers(userIndexKey(uid));
  if (handles.length === 0) return [];
  const values = await redis.mget(handles.map(sessionKey));
  const live: SessionSummary[] = [];
  const dead: string[] = [];
  handles.forEach((handle, i) => {
    const raw = values[i];
    const data = raw ? (JSON.parse(raw) as SessionData) : undefined;
    if (!data || data.uid !== uid) dead.push(handle);
    else
      live.push({
        handle,
        createdAt: data.createdAt ?? 0,
        seenAt: data.seenAt ?? 0,
        userAgent: data.userAgent ?? "",
        ip: data.ip ?? "",
      });
  });
  if (dead.length > 0) await redis.srem(userIndexKey(uid), ...dead);
  return live.sort((a, b) => b.seenAt - a.seenAt);
}

/** Ends sessions of `uid`: all of them, all but `except`, or only `only`. Returns how many. */
export async function revokeUserSessions(
  redis: Redis,
  uid: string,
  which: { except?: string; only?: string } = {},
): Promise<number> {
  const handles = await redis.smembers(userIndexKey(uid));
  const targets = handles.filter((h) => h !== which.except && (which.only === undefined || h === which.only));
  for (const handle of targets) await destroyByHandle(redis, handle);
  return targets.length;
}
