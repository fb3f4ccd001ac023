/**
 * How much one user may upload, held in Redis so it holds across instances: uploads started per
 * hour, and stored bytes (MongoDB's sum of their attachments) plus bytes being uploaded right now
 * (a Redis counter, reserved before the first byte is read and released when the upload ends).
 */
import type { Redis } from "ioredis";
import { AppError } from "../../errors.js";
import { createLimiter, retryIn, take, type Limiter } from "../../http/rate-limit.js";
import { storedBytesOf } from "./removal.js";

export type UploadLimits = { quotaBytes: number; uploadsPerHour: number };

// A reservation outlives a crashed instance by at most this long.
const RESERVATION_SECONDS = 3600;
const inflightKey = (userId: string) => `duet:att:inflight:${userId}`;

const quotaExceeded = (quotaBytes: number) =>
  new AppError(
    413,
    "quota_exceeded",
    `You have used your ${Math.round(quotaBytes / 1024 / 1024)} MB of storage for files. Delete some to send more.`,
  );

export function uploadLimits(redis: Redis, limits: UploadLimits) {
  const starts: Limiter = createLimiter(redis, "attachment-uploads", limits.uploadsPerHour, 3600);
  return {
    /**
     * Counts an upload of up to `bytes` against the user's limits, or throws 429/413. Call the
     * answer when the upload ends, whatever the outcome, to release the reservation.
     */
    async reserve(userId: string, bytes: number): Promise<() => Promise<void>> {
      const wait = await take(starts, userId);
      if (wait !== undefined)
        throw new AppError(429, "rate_limited", `You've sent ${limits.uploadsPerHour} files in the last hour. ${retryIn(wait)}`);
      const key = inflightKey(userId);
      const inflight = await redis.incrby(key, bytes);
      await redis.expire(key, RESERVATION_SECONDS);
      const release = async () => {
        await redis.decrby(key, bytes);
      };
      try {
        if ((await storedBytesOf(userId)) + inflight > limits.quotaBytes) throw quotaExceeded(limits.quotaBytes);
      } catch (err) {
        await release();
        throw err;
      }
      return release;
    },
  };
}
export type UploadLimiter = ReturnType<typeof uploadLimits>;
