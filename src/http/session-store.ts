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
  /** The hash of the browser's device cookie (http/device-cookie.ts), for "first seen". */
  device?: string;
  /**
   * A sign-up waiting for its emailed code: the attempt's id (pending-signups.ts) and the address
   * it was sent to. Sessions from earlier versions may hold another shape here; routes check.
   */
  pending?: { attemptId: string; email: string };
  /**
   * Half signed in: the password (or Google) was right, the second factor is still to come.
   * Holds no `uid`, so nothing that needs a signed-in user (pages, sockets) accepts this session.
   */
  secondFactor?: {
    userId: string;
    until: number;
    next: string;
    /** A Google account whose link waits for the second factor (the password alone proved too little). */
    linkGoogleSub?: string;
  };
  /** When this session last proved its user again (password, Google): sensitive changes need it recent. */
  reauthAt?: number;
  /** An authenticator secret being set up, sealed (accounts/two-factor.ts), until it is confirmed. */
  totpSetup?: { sealed: string; until: number };
  /**
   * The passkey ceremony this browser started (accounts/passkey-challenges.ts): the SHA-256 of
   * its challenge, what it is for, whose it is, until when. Single use: taken by the answer.
   */
  passkeyChallenge?: { hash: string; purpose: string; userId?: string; until: number };
  _expire?: number;
  _maxAge?: number;
};

/** Signed out after this long without a request. */
export const IDLE_TIMEOUT_MS = 14 * 24 * 3600_000;
/** Signed out this long after signing in, however active. */
export const ABSOLUTE_LIFETIME_MS = 30 * 24 * 3600_000;

/** When a signed-in session ends by itself (idle or absolute), or undefined if it has ended. */
export function sessionDeadline(data: SessionData | undefined, now = Date.now()): number | undefined {
  if (!data?.uid) return undefined;
  const deadline = Math.min(data._expire ?? Infinity, (data.createdAt ?? now) + ABSOLUTE_LIFETIME_MS);
  return deadline > now ? deadline : undefined;
}

export const sessionHandle = (id: string) => createHash("sha256").update(id).digest("base64url");
const sessionKey = (handle: string) => `duet:sess:${handle}`;
const userIndexKey = (uid: string) => `duet:user-sessions:${uid}`;
// Marks a session that was ended, for as long as it could have lived: a request that loaded it
// before the end and saves it afterwards (koa-session writes the whole session back) must not
// bring it back.
const endedKey = (handle: string) => `duet:sess-ended:${handle}`;

/** Every instance hears the handle of each session that ends here, and closes its sockets. */
export const SESSION_ENDED_CHANNEL = "duet:session-ended";

// KEYS: session, ended marker, [user index]. ARGV: data, ttl, [handle, index ttl].
// Atomic with the check, so an end that lands between a request's read and its save still wins.
const SAVE_UNLESS_ENDED = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if KEYS[3] then
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return 1`;

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
      const json = JSON.stringify(data);
      if (data.uid)
        await redis.eval(
          SAVE_UNLESS_ENDED,
          3,
          sessionKey(handle),
          endedKey(handle),
          userIndexKey(data.uid),
          json,
          ttl,
          handle,
          absoluteLifetimeMs,
        );
      else await redis.eval(SAVE_UNLESS_ENDED, 2, sessionKey(handle), endedKey(handle), json, ttl);
    },
    async destroy(id: string): Promise<void> {
      await endSession(redis, sessionHandle(id), absoluteLifetimeMs);
    },
  };
}

/** The stored session behind `handle`, if it still exists. */
export async function sessionByHandle(redis: Redis, handle: string): Promise<SessionData | undefined> {
  const raw = await redis.get(sessionKey(handle));
  return raw ? (JSON.parse(raw) as SessionData) : undefined;
}

/** Ends one session for good: removed, marked so no late save revives it, announced to every instance. */
export async function endSession(redis: Redis, handle: string, markForMs: number): Promise<void> {
  const raw = await redis.get(sessionKey(handle));
  const uid = raw ? (JSON.parse(raw) as SessionData).uid : undefined;
  const tx = redis.multi().set(endedKey(handle), "1", "PX", markForMs).del(sessionKey(handle));
  if (uid) tx.srem(userIndexKey(uid), handle);
  await tx.publish(SESSION_ENDED_CHANNEL, handle).exec();
}

export type SessionSummary = {
  handle: string;
  createdAt: number;
  seenAt: number;
  userAgent: string;
  ip: string;
  device: string | undefined;
};

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
        device: data.device,
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
  for (const handle of targets) await endSession(redis, handle, ABSOLUTE_LIFETIME_MS);
  return targets.length;
}
