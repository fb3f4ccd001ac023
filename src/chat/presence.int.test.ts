import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { Types } from "mongoose";
import { createLogger } from "../logger.js";
import { connectServices, eventually, testConfig, type Services } from "../test/support.js";
import { createHub } from "./hub.js";
import { createPresence } from "./presence.js";

// An app instance's presence in a process of its own, so it can be killed as a crash would.
const INSTANCE = `
import { Redis } from "ioredis";
import mongoose from "mongoose";
import { createHub } from "./src/chat/hub.ts";
import { createPresence } from "./src/chat/presence.ts";
import { createLogger } from "./src/logger.ts";
import { testConfig } from "./src/test/support.ts";
const config = testConfig();
await mongoose.connect(config.mongodbUri);
const redis = new Redis(config.redisUrl);
const presence = createPresence({ redis, hub: createHub(redis, redis.duplicate(), createLogger(config)), log: createLogger(config), instanceTtlMs: 600 });
const [userId, peerId, sockets] = process.argv.slice(-3);
for (let i = 0; i < Number(sockets); i++) await presence.goOnline({ roomId: "presence-test", userId, peerId });
process.stdout.write("online\\n");
`;

describe("who is online, across instances", () => {
  let services: Services;
  before(async () => (services = await connectServices()));
  after(() => services.close());

  it("the sockets of an instance killed without closing them stop counting once it stops renewing", async () => {
    const log = createLogger(testConfig());
    const subscriber = services.redis.duplicate();
    const presence = createPresence({
      redis: services.redis,
      hub: createHub(services.redis, subscriber, log),
      log,
      instanceTtlMs: 600,
    });
    const user = String(new Types.ObjectId());
    const peer = String(new Types.ObjectId());
    try {
      const killed = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", INSTANCE, user, peer, "3"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      await Promise.race([
        once(killed.stdout, "data"),
        once(killed, "exit").then(([code]) => assert.fail(`the instance exited (${String(code)}) before going online`)),
      ]);
      await presence.goOnline({ roomId: "presence-test", userId: user, peerId: peer });
      assert.deepEqual(await presence.socketCounts([user]), [4], "three sockets there, one here");

      killed.kill("SIGKILL");
      await once(killed, "exit");
      await eventually(
        "the killed instance's sockets no longer count",
        async () => (await presence.socketCounts([user]))[0] === 1,
      );
      assert.deepEqual(Object.keys(await services.redis.hgetall(`duet:online:${user}`)).length, 1, "its entry is removed");

      await presence.goOffline({ roomId: "presence-test", userId: user });
      assert.deepEqual(await presence.socketCounts([user, peer]), [0, 0]);
    } finally {
      await presence.close();
      subscriber.disconnect();
    }
  });
});
