import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { stackSettings } from "../scripts/lib/settings.js";
import { eventually, stack } from "./test/support.js";

const SERVER = fileURLToPath(new URL("./server.ts", import.meta.url));

type Run = { child: ChildProcess; output: () => string; exit: Promise<number | null> };

/** Starts `src/server.ts` as its own process with exactly `env` (plus PATH). */
function startServer(env: Record<string, string>): Run {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = once(child, "exit").then(([code]) => code as number | null);
  return { child, output: () => output, exit };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  assert.ok(address && typeof address === "object");
  return address.port;
}

const productionEnv = () => ({
  NODE_ENV: "production",
  PUBLIC_URL: "https://chat.example.com",
  MONGODB_URI: stack.MONGODB_URI,
  REDIS_URL: stack.REDIS_URL,
  SMTP_URL: stack.SMTP_URL,
  SESSION_SECRETS: stack.SESSION_SECRETS,
  MASTER_KEYS: stack.MASTER_KEYS,
  INSTANCE_NAME: "spawned",
});

describe("starting and stopping the server", () => {
  it("refuses to start in production without a session secret, naming it", async () => {
    const { SESSION_SECRETS: _omitted, ...env } = productionEnv();
    const run = startServer(env);
    assert.equal(await run.exit, 78);
    assert.match(run.output(), /SESSION_SECRETS is required when NODE_ENV=production: generate one with `openssl rand -hex 32`/);
  });

  it("lists every bad setting at once and starts nothing", async () => {
    const run = startServer({
      ...productionEnv(),
      PORT: "99999",
      PUBLIC_URL: "http://chat.example.com",
      SESSION_SECRETS: "short",
    });
    assert.equal(await run.exit, 78);
    for (const key of ["PORT", "PUBLIC_URL", "SESSION_SECRETS[0]"])
      assert.ok(run.output().includes(key), `${key} not named in: ${run.output()}`);
  });

  it("exits with a clear message when MongoDB cannot be reached", async () => {
    const run = startServer({
      ...productionEnv(),
      MONGODB_URI: "mongodb://127.0.0.1:9/duet",
      STARTUP_TIMEOUT_MS: "1000",
      PORT: String(await freePort()),
    });
    assert.equal(await run.exit, 1);
    assert.match(run.output(), /cannot reach MongoDB or Redis at start-up; check MONGODB_URI and REDIS_URL/);
  });

  it("waits between attempts when MongoDB refuses its credentials, and says so when it gives up", async (t) => {
    // A FerretDB of its own that requires authentication, as the Docker stack's does: a refused
    // login fails at once, so without a pause between attempts the start-up loop spun (CI saw
    // thousands of attempts per second from each replica while the database initialised).
    const data = mkdtempSync(join(tmpdir(), "duet-auth-"));
    const mongoPort = await freePort();
    const ferretdb = spawn(
      stackSettings().ferretdbBin,
      [
        `--handler=sqlite`,
        `--sqlite-url=file:${data}/`,
        `--state-dir=${data}`,
        `--listen-addr=127.0.0.1:${mongoPort}`,
        "--debug-addr=-",
        "--telemetry=disable",
        "--log-level=error",
        "--test-enable-new-auth",
        "--setup-database=admin",
        "--setup-username=root",
        "--setup-password=right-password",
      ],
      { stdio: "ignore" },
    );
    t.after(() => {
      ferretdb.kill("SIGKILL");
      rmSync(data, { recursive: true, force: true });
    });
    await eventually("the authenticating FerretDB answers", async () => {
      const client = new MongoClient(`mongodb://root:right-password@127.0.0.1:${mongoPort}/?authSource=admin`, {
        serverSelectionTimeoutMS: 1000,
      });
      try {
        return (await client.db("admin").command({ ping: 1 })).ok === 1;
      } finally {
        await client.close();
      }
    });

    const run = startServer({
      ...productionEnv(),
      MONGODB_URI: `mongodb://duet:wrong-password@127.0.0.1:${mongoPort}/duet?authSource=duet`,
      STARTUP_TIMEOUT_MS: "3000",
      PORT: String(await freePort()),
    });
    assert.equal(await run.exit, 1);
    const attempts = run
      .output()
      .split("\n")
      .filter((line) => line.includes("MongoDB not reachable yet")).length;
    assert.ok(attempts >= 1 && attempts <= 10, `${attempts} attempts in 3 s`);
    assert.match(run.output(), /MongoDB refused the user and password in MONGODB_URI/);
    assert.ok(!run.output().includes("wrong-password"), "the password was logged");
  });

  it("serves, refuses unknown WebSocket paths before any frame, and stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const run = startServer({ ...productionEnv(), PORT: String(port), LOG_LEVEL: "info" });
    try {
      await eventually("server listening", async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);

      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/nowhere`);
      const [, response] = (await once(ws, "unexpected-response")) as [unknown, { statusCode: number }];
      assert.equal(response.statusCode, 404);

      // A keep-alive connection left open must not hold shutdown up.
      const idle = await fetch(`http://127.0.0.1:${port}/healthz`, { keepalive: true });
      assert.equal(idle.status, 200);

      run.child.kill("SIGTERM");
      assert.equal(await run.exit, 0);
      assert.match(run.output(), /"msg":"shutting down"/);
      assert.match(run.output(), /"msg":"stopped"/);
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
    } finally {
      run.child.kill("SIGKILL");
    }
  });
});
