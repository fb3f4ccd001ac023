/**
 * Start-up: read config, connect MongoDB and Redis, listen, attach WebSockets, and shut
 * down gracefully on SIGTERM/SIGINT (stop accepting, close sockets with 1001, drain
 * in-flight requests, then disconnect).
 */
import { createServer } from "node:http";
import { once } from "node:events";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { createApp } from "./app.js";
import { readConfig, redact, scrub } from "./config.js";
import { checkReadiness } from "./health/readiness.js";
import { createLogger } from "./logger.js";
import { createMailer } from "./mail/mailer.js";
import { loadViews } from "./views.js";
import { attachSockets } from "./realtime/upgrade.js";
import { MAX_FRAME_BYTES } from "./chat/protocol.js";
import { createChat } from "./chat/wiring.js";

const { config, warnings } = readConfig();
const log = createLogger(config);
for (const warning of warnings) log.warn(warning);

process.on("unhandledRejection", (err) => log.error({ err }, "unhandled rejection"));

/** A connection error's message without the configured passwords, in case a driver quotes its URL. */
const connectionError = (err: unknown) =>
  scrub(err instanceof Error ? err.message : String(err), [config.mongodbUri, config.redisUrl]);

/** MongoDB's answer to a wrong user or password (code 18), which no amount of waiting for the server fixes by itself. */
const refusedLogin = (err: unknown) =>
  typeof err === "object" &&
  err !== null &&
  ((err as { code?: unknown }).code === 18 || (err as { codeName?: unknown }).codeName === "AuthenticationFailed");

async function connectMongo(): Promise<mongoose.Connection> {
  const deadline = Date.now() + config.startupTimeoutMs;
  // A refused login or a refused connection fails at once: without a pause, the loop below
  // made hundreds of attempts a second (and as many log lines) while the database started.
  let pauseMs = 250;
  for (;;) {
    try {
      // autoIndex off in production: indexes are built by start-up code we control, not per model load.
      await mongoose.connect(config.mongodbUri, {
        // While running, an operation waits at most 5 s for MongoDB before failing, so a chat
        // send during an outage gets a prompt "not sent yet" instead of hanging for 30 s.
        serverSelectionTimeoutMS: Math.min(5000, config.startupTimeoutMs),
        // The driver notices a returned server on its next heartbeat (default 10 s); 2 s keeps
        // the outage seen by /readyz and by users close to the real one, for one tiny ping.
        heartbeatFrequencyMS: 2000,
        autoIndex: !config.isProduction,
      });
      return mongoose.connection;
    } catch (err) {
      if (Date.now() + pauseMs >= deadline) throw err;
      log.warn({ err: connectionError(err) }, "MongoDB not reachable yet; retrying");
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      pauseMs = Math.min(pauseMs * 2, 2000);
    }
  }
}

async function connectRedis(): Promise<Redis> {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    // Reconnect fast and forever; readiness reports the gap meanwhile.
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    maxRetriesPerRequest: 2,
    // Commands issued in the same tick (a batch's acks and publishes, rate-limit checks from
    // several sockets) go to Redis in one write: fewer syscalls per chat message.
    enableAutoPipelining: true,
    // CLIENT SETINFO (library name and version) is not among the commands Duet's Redis user may
    // send (redis/app-user.acl); each connection would log a refusal in Redis's ACL LOG.
    disableClientInfo: true,
  });
  redis.on("error", (err) => log.warn({ err: err.message }, "redis error"));
  await Promise.race([
    redis.connect(),
    new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), config.startupTimeoutMs)),
  ]);
  return redis;
}

async function main(): Promise<void> {
  let mongo: mongoose.Connection;
  let redis: Redis;
  try {
    [mongo, redis] = await Promise.all([connectMongo(), connectRedis()]);
  } catch (err) {
    log.fatal(
      {
        mongodb: redact(config.mongodbUri),
        redis: redact(config.redisUrl),
        err: connectionError(err),
      },
      refusedLogin(err)
        ? "MongoDB refused the user and password in MONGODB_URI; see the README's Troubleshooting"
        : "cannot reach MongoDB or Redis at start-up; check MONGODB_URI and REDIS_URL",
    );
    process.exit(1);
  }

  // With autoIndex off, indexes (unique emails, one code per user) are built here, once.
  await Promise.all(mongoose.modelNames().map((name) => mongoose.model(name).createIndexes()));

  const subscriber = redis.duplicate({ enableAutoPipelining: false });
  subscriber.on("error", (err) => log.warn({ err: err.message }, "redis subscriber error"));
  const chat = createChat(config, log, redis, subscriber);
  const views = loadViews();
  const mailer = createMailer(config, views);
  const app = createApp({ config, log, redis, mailer, chat, views, readiness: () => checkReadiness({ mongo, redis }) });
  const server = createServer(app.callback());
  // Longer than nginx's keepalive_timeout so nginx, not the app, closes idle upstream connections.
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 80_000;
  const sockets = attachSockets(server, [chat.route, chat.inboxRoute], log, { maxPayload: MAX_FRAME_BYTES });

  server.listen(config.port, config.host);
  await once(server, "listening");
  log.info({ host: config.host, port: config.port, publicUrl: config.publicUrl, env: config.env }, "duet listening");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      log.warn("drain timed out; closing remaining connections");
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    const closed = new Promise((resolve) => server.close(resolve));
    sockets.closeAll("server restarting");
    server.closeIdleConnections();
    await closed;
    clearTimeout(deadline);
    sockets.wss.close();
    await chat.close();
    mailer.close();
    await Promise.allSettled([mongoose.disconnect(), redis.quit()]);
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

await main();
