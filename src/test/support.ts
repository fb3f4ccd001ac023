/**
 * Helpers for integration tests: the running native stack's addresses, a config pointed at
 * its real services, and real MongoDB and Redis connections. Nothing here is a mock.
 */
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { loadConfig, type Config } from "../config.js";
import { readStackEnv } from "../../scripts/lib/stack-env.js";

export const stack = readStackEnv();

/** Config for an in-process app talking to the stack's services. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    PUBLIC_URL: stack.APP_URL,
    MONGODB_URI: stack.MONGODB_URI,
    REDIS_URL: stack.REDIS_URL,
    SMTP_URL: stack.SMTP_URL,
    SESSION_SECRETS: stack.SESSION_SECRETS,
    INSTANCE_NAME: "test",
    LOG_LEVEL: "silent",
    ...overrides,
  }).config;
}

export type Services = { mongo: mongoose.Connection; redis: Redis; close(): Promise<void> };

export async function connectServices(config: Config = testConfig()): Promise<Services> {
  const mongo = await mongoose.createConnection(config.mongodbUri, { serverSelectionTimeoutMS: 5000 }).asPromise();
  const redis = new Redis(config.redisUrl, { retryStrategy: (n) => Math.min(n * 100, 1000) });
  redis.on("error", () => {});
  return {
    mongo,
    redis,
    async close() {
      await mongo.close();
      redis.disconnect();
    },
  };
}

/** Polls `probe` until it returns true, failing after `timeoutMs`. For state that changes asynchronously. */
export async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}
