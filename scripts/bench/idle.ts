/**
 * Memory per idle socket. The bench starts one more app instance (dist/server.js, the stack's
 * environment, its own port) with a preload (heap-probe.mjs) that reports process.memoryUsage()
 * after a full GC over an IPC channel: no debug endpoint in the app, no inspector. It opens K
 * authenticated chat sockets to it directly (no nginx), then compares heap and RSS with the
 * empty instance, and samples them while the sockets sit idle (through heartbeats) to see
 * whether memory stays flat.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_SOCKETS_PER_USER } from "../../src/chat/limits.js";
import { httpStatus, waitFor } from "../lib/wait.js";
import { connectDuet, type Conn } from "./clients.js";
import { benchPorts, probeAppEnv, ROOT } from "./stack.js";
import type { BenchPlace } from "./systems.js";
import { inParallel, type BenchPair } from "./users.js";

type Memory = { heapUsed: number; heapTotal: number; rss: number; external: number; arrayBuffers: number };

export type IdleResult = {
  sockets: number;
  opened: number;
  openSeconds: number;
  holdSeconds: number;
  heapBefore: number;
  /** Heap and RSS per socket right after opening, and at the end of the hold. */
  heapPerSocket: number;
  heapPerSocketEnd: number;
  rssPerSocket: number;
  rssPerSocketEnd: number;
  samples: Array<{ at: number; heapUsed: number; rss: number }>;
  failures: Record<string, number>;
};

/** Sockets per user: the app allows MAX_SOCKETS_PER_USER; leave room for stragglers. */
export const SOCKETS_PER_USER = MAX_SOCKETS_PER_USER - 2;

function ask(child: ChildProcess): Promise<Memory> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("heap probe did not answer")), 30_000);
    child.once("message", (m) => {
      clearTimeout(timer);
      resolve(m as Memory);
    });
    child.send("heap");
  });
}

export async function measureIdle(
  place: BenchPlace,
  pairs: readonly BenchPair[],
  count: number,
  holdSeconds: number,
  log: (line: string) => void,
): Promise<IdleResult> {
  const port = benchPorts(place.portBase).probe;
  const logs = join(place.dir, "logs");
  mkdirSync(logs, { recursive: true });
  const fd = openSync(join(logs, "probe-app.log"), "a");
  const probe = join(ROOT, "scripts", "bench", "heap-probe.mjs");
  const child = spawn(process.execPath, ["--expose-gc", "--import", pathToFileURL(probe).href, join(ROOT, "dist", "server.js")], {
    env: probeAppEnv(place.stack.env, port),
    cwd: ROOT,
    stdio: ["ignore", fd, fd, "ipc"],
  });
  closeSync(fd);
  const conns: Conn[] = [];
  try {
    await waitFor(
      "probe instance",
      () => httpStatus(`http://127.0.0.1:${port}/readyz`, { expect: 200 }),
      30_000,
      () => child.exitCode === null,
    );
    await sleep(1000);
    const before = await ask(child);

    const users = pairs.flatMap((p) => [
      { user: p.alice, roomId: p.roomId },
      { user: p.bob, roomId: p.roomId },
    ]);
    if (users.length * SOCKETS_PER_USER < count)
      throw new Error(`${count} idle sockets need ${Math.ceil(count / SOCKETS_PER_USER)} users`);
    const seqs = new Map(pairs.map((p) => [p.roomId, p.seq]));
    const failures: Record<string, number> = {};
    const started = Date.now();
    log(`idle: opening ${count} authenticated sockets to a probe instance on :${port}`);
    await inParallel(
      Array.from({ length: count }, (_, i) => users[i % users.length]),
      64,
      async (slot) => {
        if (!slot) return;
        try {
          const conn = await connectDuet({
            url: `ws://127.0.0.1:${port}`,
            roomId: slot.roomId,
            userId: slot.user.email,
            cookie: slot.user.cookie,
            origin: place.stack.env.APP_URL,
            ca: Buffer.alloc(0),
            after: seqs.get(slot.roomId) ?? 0,
            timeoutMs: 60_000,
          });
          conns.push(conn);
        } catch (err) {
          const key = err instanceof Error ? err.message.replace(/(ws|wss):\/\/\S+/, "").trim() : String(err);
          failures[key] = (failures[key] ?? 0) + 1;
        }
      },
    );
    const openSeconds = (Date.now() - started) / 1000;
    log(`idle: ${conns.length} open in ${openSeconds.toFixed(1)} s; holding ${holdSeconds} s`);
    await sleep(2000);
    const samples: IdleResult["samples"] = [];
    const heldFrom = Date.now();
    for (;;) {
      const m = await ask(child);
      samples.push({ at: Math.round((Date.now() - heldFrom) / 1000), heapUsed: m.heapUsed, rss: m.rss });
      if (Date.now() - heldFrom >= holdSeconds * 1000) break;
      await sleep(Math.min(5000, holdSeconds * 1000 - (Date.now() - heldFrom)));
    }
    const stillOpen = conns.filter((c) => c.closedWith === undefined).length;
    if (stillOpen < conns.length) failures[`closed while idle`] = conns.length - stillOpen;
    const first = samples[0] ?? { heapUsed: 0, rss: 0 };
    const last = samples.at(-1) ?? first;
    const per = (bytes: number) => (conns.length > 0 ? Math.round(bytes / conns.length) : 0);
    return {
      sockets: count,
      opened: conns.length,
      openSeconds,
      holdSeconds,
      heapBefore: before.heapUsed,
      heapPerSocket: per(first.heapUsed - before.heapUsed),
      heapPerSocketEnd: per(last.heapUsed - before.heapUsed),
      rssPerSocket: per(first.rss - before.rss),
      rssPerSocketEnd: per(last.rss - before.rss),
      samples,
      failures,
    };
  } finally {
    for (const conn of conns) conn.close();
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      if ((await Promise.race([exited, sleep(10_000).then(() => "timeout")])) === "timeout") child.kill("SIGKILL");
    }
  }
}
