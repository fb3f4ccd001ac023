import type { Redis } from "ioredis";
import type { Connection } from "mongoose";

export type Readiness = { ready: boolean; checks: Record<string, "ok" | string> };

export type Dependencies = { mongo: Connection; redis: Redis };

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function check(run: () => Promise<unknown>, ms: number): Promise<"ok" | string> {
  try {
    await within(run(), ms);
    return "ok";
  } catch (err) {
    return err instanceof Error ? err.message : "failed";
  }
}

/**
 * Asks MongoDB and Redis to answer a ping. Both drivers would otherwise queue the command
 * until the server returns, so each ping is bounded: a readiness probe must answer quickly.
 */
export async function checkReadiness({ mongo, redis }: Dependencies, timeoutMs = 1000): Promise<Readiness> {
  const [mongodb, redisCheck] = await Promise.all([
    check(async () => {
      const db = mongo.db;
      if (mongo.readyState !== 1 || !db) throw new Error("not connected");
      await db.admin().ping();
    }, timeoutMs),
    check(async () => {
      if (redis.status !== "ready") throw new Error(`connection ${redis.status}`);
      await redis.ping();
    }, timeoutMs),
  ]);
  return { ready: mongodb === "ok" && redisCheck === "ok", checks: { mongodb, redis: redisCheck } };
}
