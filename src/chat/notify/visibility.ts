/**
 * Whether a user is looking at Duet anywhere: the visible sockets (chat pages and conversation
 * lists whose tab is in front, per the page's `visibility` frames), counted per instance in a
 * Redis hash (`duet:visible:<user>` → {instance id: count}) the same way presence counts open
 * sockets (presence.ts): an instance renews a liveness key and its users' hashes on one timer,
 * and the counts of an instance that stopped renewing (killed) are not counted. A push goes to
 * a user with no visible socket (notifier.ts): no tab open, or every tab hidden (decision 017).
 *
 * A socket counts as visible from the moment it opens until its page says otherwise: a page that
 * never says (an older build still open) is treated as before, as someone looking.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../../logger.js";
import { redisScript } from "../counters.js";
import type { HubEffectSpec, Published } from "../hub.js";
import { COUNT_LIVE, INSTANCE_PREFIX, LIVE_TOTAL } from "../presence.js";

const countLive = redisScript(COUNT_LIVE);

const visibleKey = (userId: string) => `duet:visible:${userId}`;

/**
 * Whether a message's recipient is looking, answered by the hub's publish script as it sends the
 * message out (hub.ts), so the notifier asks Redis nothing more for the common case: 1 looking,
 * 0 not, nothing when the count is damaged (not a hash; the notifier then asks `visibleOf`).
 */
export const lookingEffect: HubEffectSpec = {
  lua: `${LIVE_TOTAL}
local fields = redis.pcall('HGETALL', keys[1])
if fields.err then return nil end
if liveTotal(keys[1], fields, args[1]) > 0 then return 1 end
return 0`,
  of: (event, { to }) =>
    event.type === "message" && to && to !== event.from ? { keys: [visibleKey(to)], args: [INSTANCE_PREFIX] } : undefined,
};

/** The name the hub knows `lookingEffect` by (wiring.ts). */
export const LOOKING = "looking";

/** Whether a published message's recipient was looking: undefined when the hub did not say. */
export function lookingIn(published: Published): boolean | undefined {
  const answer = published?.[LOOKING];
  return answer === 1 ? true : answer === 0 ? false : undefined;
}

/** One socket's say in whether its user is looking. */
export type VisibleSocket = {
  /** The page went to the front (true) or the back (false); repeats change nothing. */
  set(visible: boolean): void;
  /** The socket closed: it counts no more. */
  closed(): void;
  /** Resolves when every change said so far is in Redis (for tests). */
  settled(): Promise<void>;
};

export type Visibility = {
  /** A socket of `userId` opened here: it counts as visible until told otherwise. */
  opened(userId: string): VisibleSocket;
  /** Whether any socket of each user is visible on a live instance, in the order asked, in one Redis call. */
  visibleOf(userIds: readonly string[]): Promise<boolean[]>;
  close(): Promise<void>;
};

export function createVisibility(options: {
  redis: Redis;
  log: Logger;
  /** How long an instance counts without renewing; it renews at a third of this. */
  instanceTtlMs?: number;
}): Visibility {
  const { redis, log } = options;
  const ttlMs = options.instanceTtlMs ?? 60_000;
  const liveness = `${INSTANCE_PREFIX}${randomBytes(8).toString("hex")}`;
  const instance = liveness.slice(INSTANCE_PREFIX.length);
  /** Visible sockets here, per user. */
  const here = new Map<string, number>();

  const renew = async (): Promise<void> => {
    const batch = redis.pipeline().set(liveness, "1", "PX", ttlMs);
    for (const userId of here.keys()) batch.pexpire(visibleKey(userId), ttlMs * 1.5);
    await batch.exec();
  };
  const warn = (what: string) => (err: unknown) => log.warn({ err: err instanceof Error ? err.message : err }, what);
  const renewing = setInterval(() => void renew().catch(warn("visibility renewal failed")), ttlMs / 3);
  renewing.unref();
  let started: Promise<void> | undefined;
  const start = (): Promise<void> =>
    (started ??= renew().catch((err: unknown) => {
      started = undefined;
      throw err;
    }));

  const count = async (userId: string, by: 1 | -1): Promise<void> => {
    const left = (here.get(userId) ?? 0) + by;
    if (left > 0) here.set(userId, left);
    else here.delete(userId);
    if (by === 1) {
      await start();
      await redis
        .multi()
        .hincrby(visibleKey(userId), instance, 1)
        .pexpire(visibleKey(userId), ttlMs * 1.5)
        .exec();
      return;
    }
    const mine = await redis.hincrby(visibleKey(userId), instance, -1);
    if (mine <= 0) await redis.hdel(visibleKey(userId), instance);
  };

  const visibleOf = async (userIds: readonly string[]): Promise<boolean[]> => {
    if (userIds.length === 0) return [];
    const counts = (await countLive(redis, userIds.map(visibleKey), [INSTANCE_PREFIX])) as number[];
    return counts.map((n) => Number(n) > 0);
  };

  return {
    opened: (userId) => new SocketVisibility(userId, count, warn),
    visibleOf,
    async close() {
      clearInterval(renewing);
      await redis.del(liveness).catch(() => undefined);
    },
  };
}

/**
 * One socket's say in whether its user is looking. What the page said last (false once closed),
 * and what Redis counts for this socket: changes made while one is being written collapse into
 * the last, so a page (or anyone with a session) sending a flood of frames costs at most one
 * write in flight per socket. A class: one per socket, its methods shared (decision 023).
 */
class SocketVisibility implements VisibleSocket {
  private wanted = true;
  private counted = false;
  private open = true;
  private writing = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly userId: string,
    private readonly count: (userId: string, by: 1 | -1) => Promise<void>,
    private readonly warn: (what: string) => (err: unknown) => void,
  ) {
    this.follow();
  }

  set(visible: boolean): void {
    if (!this.open) return;
    this.wanted = visible;
    this.follow();
  }

  closed(): void {
    this.open = false;
    this.wanted = false;
    this.follow();
  }

  settled(): Promise<void> {
    return this.chain;
  }

  private follow(): void {
    if (this.writing) return;
    this.writing = true;
    this.chain = this.write();
  }

  private async write(): Promise<void> {
    while (this.counted !== this.wanted) {
      const to = this.wanted;
      await this.count(this.userId, to ? 1 : -1).catch(this.warn(to ? "visible socket not counted" : "visibility not recorded"));
      this.counted = to;
    }
    this.writing = false;
  }
}
