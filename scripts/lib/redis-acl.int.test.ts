/**
 * Least privilege in Redis: the app connects as its own user (REDIS_URL), which may send only
 * the commands Duet uses, on Duet's keys and channels (redis/app-user.acl). Someone who takes
 * over an app instance, or reads its environment, cannot wipe Redis, read its configuration,
 * list every key or touch another application's data. The same rules run in Docker
 * (redis/start.sh, checked statically by compose.int.test.ts).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { freePort } from "./nginx-instance.js";
import { REDIS_APP_USER } from "./redis-acl.js";
import { ROOT } from "./settings.js";
import { readStackEnv } from "./stack-env.js";
import { pingRedis, waitFor } from "./wait.js";

const stack = readStackEnv();
const refused = /NOPERM/;
// Redis 7.0 words a refusal inside a script differently from one outside.
const refusedInScript = /NOPERM|user executing the script can't/;

describe("Redis, as the app's own user", () => {
  let app: Redis;
  let admin: Redis;
  const key = `duet:acl-test:${randomBytes(4).toString("hex")}`;

  before(async () => {
    app = new Redis(stack.REDIS_URL, { maxRetriesPerRequest: 0, disableClientInfo: true });
    admin = new Redis(stack.REDIS_ADMIN_URL, { maxRetriesPerRequest: 0 });
    await Promise.all([app.ping(), admin.ping()]);
  });

  after(async () => {
    await admin.del(key, `${key}:hash`);
    app.disconnect();
    admin.disconnect();
  });

  test("the app's URL names its own user, whose password does not open the administrator's", async () => {
    const url = new URL(stack.REDIS_URL);
    assert.equal(url.username, REDIS_APP_USER);
    const probe = new Redis(stack.REDIS_URL, { maxRetriesPerRequest: 0, disableClientInfo: true });
    await assert.rejects(probe.call("AUTH", "default", decodeURIComponent(url.password)), /WRONGPASS/);
    probe.disconnect();
  });

  test("wiping, configuring, debugging or listing Redis is refused", async () => {
    // Asked of Redis first without running them, so a missing rule cannot wipe the stack.
    for (const command of [["FLUSHALL"], ["FLUSHDB"], ["DEBUG", "SLEEP", "0"], ["SHUTDOWN"], ["SCRIPT", "FLUSH"]]) {
      const answer = String(await admin.call("ACL", "DRYRUN", REDIS_APP_USER, ...command));
      assert.match(answer, /no permissions/, command.join(" "));
    }
    await assert.rejects(app.flushall(), refused);
    // Redis also refuses DEBUG to every connection unless enable-debug-command says otherwise.
    await assert.rejects(app.call("DEBUG", "SLEEP", "0"), /NOPERM|DEBUG command not allowed/);
    await assert.rejects(app.call("CONFIG", "GET", "requirepass"), refused);
    await assert.rejects(app.call("CONFIG", "SET", "appendonly", "no"), refused);
    await assert.rejects(app.keys("*"), refused);
    await assert.rejects(app.scan("0"), refused);
    await assert.rejects(app.call("ACL", "LIST"), refused);
    await assert.rejects(app.call("CLIENT", "LIST"), refused);
    await assert.rejects(app.call("MONITOR"), refused);
    await assert.rejects(app.call("SAVE"), refused);
  });

  test("keys and channels outside Duet's prefix are refused, in scripts too", async () => {
    await assert.rejects(app.set("other-app:key", "x"), refused);
    await assert.rejects(app.get("session:abc"), refused);
    await assert.rejects(app.publish("other-app:events", "x"), refused);
    await assert.rejects(app.eval("return redis.call('GET', KEYS[1])", 1, "other-app:key"), refused);
    // A script cannot do what the user cannot.
    await assert.rejects(app.eval("return redis.call('FLUSHALL')", 0), refusedInScript);
    await assert.rejects(app.eval("return redis.call('GET', 'other-app:key')", 0), refusedInScript);
    assert.equal(await admin.exists("other-app:key"), 0);
  });

  test("what Duet sends works: its keys, hashes, sets, transactions, pub/sub, and INFO inside a script", async () => {
    await app.multi().set(key, "1", "PX", 60_000).incr(key).exec();
    assert.equal(await app.get(key), "2");
    assert.equal(await app.hincrby(`${key}:hash`, "n", 3), 3);
    // The sequencer reads Redis's run id this way (src/chat/sequencer.ts).
    const runId = await app.eval("return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')", 0);
    assert.match(String(runId), /^[0-9a-f]{40}$/);
    assert.equal(await app.publish(`${key}:room`, "hello"), 0);
  });
});

describe("redis/start.sh, the Redis container's command in docker-compose.yml", () => {
  const script = join(ROOT, "redis", "start.sh");
  const passwords = { REDIS_PASSWORD: randomBytes(24).toString("hex"), REDIS_ADMIN_PASSWORD: randomBytes(24).toString("hex") };

  test("gives the app the same user as the native stack, and keeps default for administration", async () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-redis-"));
    const port = await freePort();
    // Outside the image it runs redis-server itself; the extra arguments keep it on loopback.
    const redis = spawn("sh", [script, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "no"], {
      env: { PATH: process.env.PATH, ...passwords, REDIS_CONF: join(dir, "redis.conf") },
      stdio: "ignore",
    });
    const exited = once(redis, "exit");
    const url = (user: string, password: string) => `redis://${user}:${password}@127.0.0.1:${port}`;
    const docker = new Redis(url("default", passwords.REDIS_ADMIN_PASSWORD), { lazyConnect: true });
    const native = new Redis(stack.REDIS_ADMIN_URL, { lazyConnect: true });
    // Rules as a sorted list: Redis answers them in no particular order.
    const rulesOf = async (r: Redis) => {
      const fields = (await r.call("ACL", "GETUSER", REDIS_APP_USER)) as unknown[];
      const entry = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
      return [entry.flags, entry.commands, entry.keys, entry.channels].flat().join(" ").split(" ").sort();
    };
    try {
      await waitFor(
        "redis/start.sh",
        () => pingRedis(url(REDIS_APP_USER, passwords.REDIS_PASSWORD)),
        10_000,
        () => redis.exitCode === null,
      );
      await Promise.all([docker.connect(), native.connect()]);
      assert.deepEqual(await rulesOf(docker), await rulesOf(native));
      assert.match(String(await docker.call("ACL", "DRYRUN", REDIS_APP_USER, "FLUSHALL")), /no permissions/);
      assert.equal(await docker.call("ACL", "DRYRUN", "default", "FLUSHALL"), "OK", "default stays the administrator");
    } finally {
      docker.disconnect();
      native.disconnect();
      redis.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("refuses to start without both passwords, with one password for both users, or a password its config file cannot hold", async () => {
    const start = (env: Record<string, string>) =>
      promisify(execFile)("sh", [script, "--port", "1"], {
        env: { PATH: process.env.PATH, REDIS_CONF: "/nonexistent/redis.conf", ...env },
      });
    await assert.rejects(start({ REDIS_PASSWORD: passwords.REDIS_PASSWORD }), /REDIS_ADMIN_PASSWORD is not set/);
    await assert.rejects(start({ ...passwords, REDIS_ADMIN_PASSWORD: passwords.REDIS_PASSWORD }), /must differ/);
    await assert.rejects(start({ ...passwords, REDIS_PASSWORD: "has space" }), /REDIS_PASSWORD may hold only/);
  });
});
