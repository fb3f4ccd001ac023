/**
 * The native stack's own tool, `scripts/stack`, run as a test runner or a CI step runs it:
 * with its output going to a socket, and after a service died badly. Works on the running
 * stack's nginx and leaves it running.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startNginx } from "./nginx-instance.js";
import { commandLine, groupMembers, listenersOn, procStat, writersTo } from "./proc-info.js";
import { isAlive, readPid } from "./processes.js";
import { ROOT, stackSettings } from "./settings.js";
import { httpStatus, waitFor } from "./wait.js";

const run = promisify(execFile);
const settings = stackSettings();
const stackTool = (...args: string[]) =>
  run("bash", [join(ROOT, "scripts", "stack"), ...args], { env: { ...process.env, STACK_SKIP_INSTALL: "1" } });
const healthz = () => httpStatus(`${settings.publicUrl}/healthz`, { caFile: join(settings.certsDir, "ca.pem"), expect: 200 });

describe("scripts/stack", () => {
  test("nginx starts when the tool's output is a socket, as Node gives a child's", async () => {
    // The premise: what execFile gives a child for stdout is a socket, not a pipe or a file.
    const { stdout: fd1 } = await run("readlink", ["/proc/self/fd/1"]);
    assert.match(fd1, /^socket:/);

    await stackTool("stop", "nginx");
    const { stdout } = await stackTool("start", "nginx");
    assert.match(stdout, /nginx started/);
    assert.equal(await healthz(), 200);
  });

  test("after nginx's master is killed, start replaces the workers it left behind", async () => {
    const master = Number(readFileSync(join(settings.pidsDir, "nginx.pid"), "utf8"));
    const workers = groupMembers(master).filter((pid) => pid !== master);
    assert.ok(workers.length > 0, "nginx runs workers");
    process.kill(master, "SIGKILL");
    await waitFor("the master to die", async () => assert.equal(isAlive(master), false), 5000);
    assert.ok(workers.every(isAlive), "its workers live on, serving the old config");

    const { stdout } = await stackTool("start", "nginx");
    assert.match(stdout, /nginx started/);
    assert.deepEqual(workers.filter(isAlive), [], "the old workers are gone");
    const fresh = readPid(settings.pidsDir, "nginx");
    assert.ok(fresh !== undefined && fresh !== master);
    // Whoever answers on the https port belongs to the nginx just started.
    const listeners = listenersOn(settings.httpsPort);
    assert.ok(listeners.length > 0);
    assert.deepEqual(
      listeners.filter((pid) => procStat(pid)?.pgrp !== fresh),
      [],
    );
    assert.equal(await healthz(), 200);
  });

  test("start says so when the service is already running", async () => {
    const { stdout } = await stackTool("start", "nginx");
    assert.match(stdout, /nginx running/);
  });
});

describe("a test's own nginx (scripts/lib/nginx-instance.ts)", () => {
  test("stopping it after its master was killed also ends the workers that held its ports", async () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-nginx-"));
    try {
      const nginx = await startNginx(dir, {
        TLS_CERT: join(settings.certsDir, "fullchain.pem"),
        TLS_KEY: join(settings.certsDir, "server.key"),
        APP_UPSTREAMS: `127.0.0.1:${settings.appPorts[0]}`,
      });
      const workers = writersTo(join(dir, "nginx.log"));
      assert.ok(workers.length > 1, "a master and its workers");
      const masterPid = workers.find((pid) => commandLine(pid).includes("master process"));
      assert.ok(masterPid !== undefined);
      process.kill(masterPid, "SIGKILL");
      await nginx.stop();
      assert.deepEqual(listenersOn(nginx.httpsPort), [], "nothing holds its https port");
      assert.deepEqual(listenersOn(nginx.httpPort), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
