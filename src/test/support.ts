/**
 * Helpers for integration tests: the running native stack's addresses, a config pointed at
 * its real services, real MongoDB and Redis connections, an app built on them, and the real
 * mail catcher's inbox. Nothing here is a mock.
 */
import { Redis } from "ioredis";
import type Koa from "koa";
import mongoose from "mongoose";
import { createApp } from "../app.js";
import { createMessageStore, type MessageStore } from "../chat/message-store.js";
import { createRoomActivity } from "../chat/room-activity.js";
import type { RoomKey } from "../chat/rooms.js";
import { createSequencer, type Sequencer } from "../chat/sequencer.js";
import { createChat } from "../chat/wiring.js";
import { loadConfig, type Config } from "../config.js";
import { checkReadiness } from "../health/readiness.js";
import { createLogger } from "../logger.js";
import { createMailer } from "../mail/mailer.js";
import { loadViews } from "../views.js";
import { stack } from "./stack.js";

export { stack };

/** Config for an in-process app talking to the stack's services. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    PUBLIC_URL: stack.APP_URL,
    MONGODB_URI: stack.MONGODB_URI,
    REDIS_URL: stack.REDIS_URL,
    SMTP_URL: stack.SMTP_URL,
    SESSION_SECRETS: stack.SESSION_SECRETS,
    MASTER_KEYS: stack.MASTER_KEYS,
    INSTANCE_NAME: "test",
    LOG_LEVEL: "silent",
    ...overrides,
  }).config;
}

export type Services = { mongo: mongoose.Connection; redis: Redis; subscriber: Redis; close(): Promise<void> };

/** Connects mongoose's default connection (the one the models use) and a Redis client. */
export async function connectServices(config: Config = testConfig()): Promise<Services> {
  await mongoose.connect(config.mongodbUri, { serverSelectionTimeoutMS: 5000 });
  await Promise.all(mongoose.modelNames().map((name) => mongoose.model(name).createIndexes()));
  const redis = new Redis(config.redisUrl, { retryStrategy: (n) => Math.min(n * 100, 1000) });
  redis.on("error", () => {});
  const subscriber = redis.duplicate();
  subscriber.on("error", () => {});
  return {
    mongo: mongoose.connection,
    redis,
    subscriber,
    async close() {
      await mongoose.disconnect();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

// One sequencer per Redis client, as in the app (each listens for reconnects on it).
const sequencers = new WeakMap<Redis, Sequencer>();

/** A message store as one app instance has it: real Redis numbering, real MongoDB writes. */
export function messageStore(redis: Redis, keyFor: (roomId: string) => Promise<RoomKey>, maxBatch?: number): MessageStore {
  const activity = createRoomActivity(createLogger(testConfig()));
  const sequencer = sequencers.get(redis) ?? createSequencer(redis);
  sequencers.set(redis, sequencer);
  return createMessageStore({ keyFor, sequencer, activity, ...(maxBatch ? { maxBatch } : {}) });
}

/** The real app on real services, as server.ts builds it (without listening). */
export function buildApp(services: Services, overrides: Record<string, string> = {}): Koa {
  const config = testConfig(overrides);
  const views = loadViews();
  const log = createLogger(config);
  return createApp({
    config,
    log,
    redis: services.redis,
    mailer: createMailer(config, views),
    chat: createChat(config, log, services.redis, services.subscriber),
    views,
    readiness: () => checkReadiness(services),
  });
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

/**
 * Moves the send time of every code emailed to `email` (sign-up and email change) `ms` into the
 * past, as if that time had passed: resend cooldowns are tested without waiting for them.
 */
export async function codesSentEarlier(email: string, ms: number): Promise<void> {
  const sentAt = new Date(Date.now() - ms);
  for (const name of ["emailcodes", "pendingsignups"]) {
    await mongoose.connection.collection(name).updateMany({ email }, { $set: { sentAt } });
  }
}
