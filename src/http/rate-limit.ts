/**
 * Rate limits held in Redis, so they hold across every app instance. Each limiter counts
 * events (usually failures) per key within a window and blocks the key once it is spent.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { tooManyRequests } from "../errors.js";

export type Limiter = RateLimiterRedis;

export function createLimiter(
  redis: Redis,
  name: string,
  points: number,
  windowSeconds: number,
  blockSeconds = windowSeconds,
): Limiter {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `duet:rl:${name}`,
    points,
    duration: windowSeconds,
    blockDuration: blockSeconds,
  });
}

/** Keys such as email addresses are hashed so Redis holds no personal data. */
export const limitKey = (value: string) => createHash("sha256").update(value).digest("base64url").slice(0, 22);

/** "Try again in 15 minutes." for a wait of `ms`. */
export function retryIn(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  return minutes <= 1 ? "Try again in a minute." : `Try again in ${minutes} minutes.`;
}

export function retryMessage(ms: number): string {
  return `Too many attempts. ${retryIn(ms)}`;
}

/** Throws 429 if `key` has no points left, without spending one. */
export async function assertNotLimited(limiter: Limiter, key: string): Promise<void> {
  const state = await limiter.get(key);
  if (state && state.remainingPoints <= 0) throw tooManyRequests(retryMessage(state.msBeforeNext));
}

/** Spends one point for `key`; throws 429 if that was one too many. */
export async function spend(limiter: Limiter, key: string): Promise<void> {
  const wait = await take(limiter, key);
  if (wait !== undefined) throw tooManyRequests(retryMessage(wait));
}

/** Spends one point for `key`; returns how long to wait (ms) if that was one too many, else undefined. */
export async function take(limiter: Limiter, key: string): Promise<number | undefined> {
  try {
    await limiter.consume(key);
    return undefined;
  } catch (err) {
    if (err instanceof RateLimiterRes) return Math.max(1000, err.msBeforeNext);
    throw err;
  }
}
