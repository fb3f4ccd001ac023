/**
 * `scripts/bench/run [flags]`: Duet under load next to two reference relays, on this machine.
 *
 * N pairs chat across two instances through nginx at a fixed offered rate that steps up; for
 * each system and rate: sent, acked, delivered, lost, duplicated, reordered, latency
 * p50/p95/p99 and CPU-seconds per 1,000 messages; then memory per idle socket on one instance.
 * Uses the native stack in STACK_DIR (default .stack-bench), starting it (STACK_PORT_BASE,
 * default 39400) if it is not running. Bounded: every step lasts --seconds, a system that is
 * far past its limit skips its higher rates.
 *
 *   --rates 100,250,500,1000,2000   offered rates, msg/s    --seconds 10   per step
 *   --systems duet,ws,socketio      which to run            --drain 5      s to wait for stragglers
 *   --warmup 5                      s at the lowest rate before the first step, not reported
 *   --idle 10000                    idle sockets (0: skip)  --hold 30      s to hold them idle
 *   --pairs N                       default: enough for Duet's per-user send limit
 *   --store-floor true              with duet: then its store path alone at each rate (store-floor.ts)
 *   --readme                        rewrite README.md's "## Benchmarks" (the last section) with the results
 *   --from-results                  only report (and --readme) the last run's <STACK_DIR>/bench/results.json
 *   --max-minutes 20                stop (and stop the relays and edges) after this long, whatever happens
 */
import { execFileSync } from "node:child_process";
import { Redis } from "ioredis";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import mongoose from "mongoose";
import { RoomModel } from "../../src/chat/room.model.js";
import { SEND_LIMIT } from "../../src/chat/limits.js";
import { ROOT, stackSettings } from "../lib/settings.js";
import { readStackEnv, type StackEnv } from "../lib/stack-env.js";
import { httpStatus } from "../lib/wait.js";
import type { Conn } from "./clients.js";
import { measureIdle, SOCKETS_PER_USER } from "./idle.js";
import { overloaded, runStep, type Link } from "./load.js";
import { machine, readPidFile, totalCpuSeconds } from "./proc.js";
import { markdownSection, terminalReport, writeReadmeSection, type BenchResult, type SystemResult } from "./report.js";
import { measureStoreFloor } from "./store-floor.js";
import { edgePids, stopBenchProcesses, systems, type BenchPlace, type SystemKey } from "./systems.js";
import { benchPairs, inParallel, pruneBenchMessages, type BenchPair } from "./users.js";

const { values: flags } = parseArgs({
  options: {
    rates: { type: "string", default: "100,250,500,1000,2000" },
    seconds: { type: "string", default: "10" },
    drain: { type: "string", default: "5" },
    warmup: { type: "string", default: "5" },
    systems: { type: "string", default: "duet,ws,socketio" },
    idle: { type: "string", default: "10000" },
    hold: { type: "string", default: "30" },
    pairs: { type: "string" },
    "store-floor": { type: "string", default: "true" },
    readme: { type: "boolean", default: false },
    "max-minutes": { type: "string", default: "20" },
    "from-results": { type: "boolean", default: false },
  },
});
const rates = flags.rates
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
const seconds = Number(flags.seconds);
const idleCount = Number(flags.idle);
const chosen = flags.systems.split(",").filter(Boolean) as SystemKey[];
/** The warm-up's step number (client ids s99-…), apart from the measured steps'. */
const WARMUP_STEP = 99;
const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

/** Each user may send SEND_LIMIT.points per SEND_LIMIT.windowMs; stay under 80% of it. */
const perUserRate = (0.8 * SEND_LIMIT.points) / (SEND_LIMIT.windowMs / 1000);
const pairCount =
  Number(flags.pairs ?? 0) ||
  Math.max(Math.ceil(Math.max(...rates) / (2 * perUserRate)), Math.ceil(idleCount / (2 * SOCKETS_PER_USER)));

async function ensureStack(dir: string): Promise<{ stack: StackEnv; note: string }> {
  const answers = async (stack: StackEnv) => {
    for (const url of stack.APP_INSTANCES.split(",")) await httpStatus(`${url}/readyz`, { expect: 200 });
    await httpStatus(`${stack.APP_URL}/healthz`, { caFile: stack.CA_CERT, expect: 200 });
  };
  try {
    const stack = readStackEnv(dir);
    await answers(stack);
    return { stack, note: `Used the native stack already running in ${relative(ROOT, dir)} (${stack.APP_URL}).` };
  } catch {
    const base = process.env.STACK_PORT_BASE ?? "39400";
    log(`no stack answers in ${dir}: starting one (STACK_PORT_BASE=${base})`);
    execFileSync("bash", [join(ROOT, "scripts", "stack"), "up"], {
      cwd: ROOT,
      stdio: "inherit",
      env: { ...process.env, STACK_DIR: dir, STACK_PORT_BASE: base },
    });
    const stack = readStackEnv(dir);
    await answers(stack);
    return { stack, note: `Started the native stack in ${relative(ROOT, dir)} (${stack.APP_URL}).` };
  }
}

async function connectAll(place: BenchPlace, key: SystemKey, urls: [string, string], pairs: readonly BenchPair[]) {
  const system = systems(place)[key];
  const ca = readFileSync(place.stack.CA_CERT);
  const seqs = new Map(
    (await RoomModel.find({ _id: { $in: pairs.map((p) => p.roomId) } }, { seq: 1 }).lean()).map((r) => [r._id, r.seq]),
  );
  const open = (pair: BenchPair, side: 0 | 1): Promise<Conn> => {
    const user = side === 0 ? pair.alice : pair.bob;
    return system.connect({
      url: urls[side].replace(/^https/, "wss"),
      roomId: pair.roomId,
      userId: user.id,
      cookie: user.cookie,
      ca,
      after: seqs.get(pair.roomId) ?? 0,
    });
  };
  const conns = await inParallel(pairs, 16, async (pair) => [await open(pair, 0), await open(pair, 1)] as const);
  const links: Link[] = conns.flatMap(([alice, bob]) => [
    { from: alice, to: bob },
    { from: bob, to: alice },
  ]);
  return { links, close: () => conns.forEach(([a, b]) => (a.close(), b.close())) };
}

async function benchSystem(place: BenchPlace, key: SystemKey, pairs: readonly BenchPair[]): Promise<SystemResult> {
  const system = systems(place)[key];
  const result: SystemResult = { key, label: system.label, steps: [] };
  log(`${system.label}: starting, ${pairs.length * 2} sockets (Alice → edge A → instance A, Bob → edge B → instance B)`);
  try {
    const urls = await system.start();
    const { links, close } = await connectAll(place, key, urls, pairs);
    const stackPids = [
      ...system.appPids(),
      ...["redis", "ferretdb"].map((n) => readPidFile(place.settings.pidsDir, n)),
      ...edgePids(place),
    ];
    try {
      // Every system gets the same warm-up, unreported: JIT, connection pools, and for Duet each
      // room's first write of its activity, which a real server spreads over its whole life.
      if (Number(flags.warmup) > 0) {
        const pids = { app: system.appPids(), stack: stackPids };
        await runStep(WARMUP_STEP, links, rates[0] ?? 100, Number(flags.warmup), Number(flags.drain) * 1000, pids);
        await sleep(1000);
      }
      for (const [step, rate] of rates.entries()) {
        const r = await runStep(step, links, rate, seconds, Number(flags.drain) * 1000, {
          app: system.appPids(),
          stack: stackPids,
        });
        result.steps.push(r);
        log(
          `${system.label} @ ${rate}/s: delivered ${r.delivered}/${r.sent}, acked ${r.acked}, p50 ${r.p50} p99 ${r.p99} ms, ` +
            `app ${r.appCpuPer1k} CPU-s/1k, load ${r.loadAverage}`,
        );
        if (overloaded(r) && step < rates.length - 1) {
          result.note = `stopped after ${rate} msg/s: far past its limit`;
          break;
        }
        await sleep(1000);
      }
    } finally {
      close();
      await settle(system.appPids());
    }
  } finally {
    await system.stop();
  }
  return result;
}

/** The native stack's own servers: both app instances, Redis and FerretDB. */
const stackServerPids = (place: BenchPlace) =>
  ["app-1", "app-2", "redis", "ferretdb"].map((n) => readPidFile(place.settings.pidsDir, n));

/** Waits (at most 90 s) until the servers have worked off any backlog, so the next system starts on idle CPUs. */
async function settle(pids: number[]): Promise<void> {
  for (let waited = 0; waited < 90; waited++) {
    const before = totalCpuSeconds(pids);
    await sleep(1000);
    if (totalCpuSeconds(pids) - before < 0.1) return;
  }
  log("servers still busy after 90 s; going on");
}

async function storeFloor(stack: StackEnv, rooms: number, place: BenchPlace) {
  const redis = new Redis(stack.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    log(`store alone: two message stores, ${rooms} rooms, no sockets`);
    return await measureStoreFloor(redis, rooms, rates, seconds, readPidFile(place.settings.pidsDir, "ferretdb"), log);
  } finally {
    redis.disconnect();
  }
}

function report(result: BenchResult, dir: string): void {
  process.stdout.write(`\n${terminalReport(result)}\n\n(full results: ${join(dir, "results.json")})\n`);
  if (!flags.readme) return;
  writeReadmeSection(join(ROOT, "README.md"), markdownSection(result));
  // The lint step checks README.md's formatting; the generated table comes out unaligned.
  execFileSync("npx", ["prettier", "--write", "README.md"], { cwd: ROOT, stdio: "ignore" });
  log("README.md: Benchmarks section written");
}

async function main(): Promise<void> {
  if (flags["from-results"]) {
    const dir = join(resolve(ROOT, process.env.STACK_DIR ?? ".stack-bench"), "bench");
    return report(JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as BenchResult, dir);
  }
  // Bounded whatever happens: a wedged database must not hold the run (and its relays) forever.
  setTimeout(
    () => {
      log(`still running after ${flags["max-minutes"]} minutes: stopping`);
      void stopBenchProcesses(join(resolve(ROOT, process.env.STACK_DIR ?? ".stack-bench"), "bench")).finally(() =>
        process.exit(2),
      );
    },
    Number(flags["max-minutes"]) * 60_000,
  ).unref();
  const dir = resolve(ROOT, process.env.STACK_DIR ?? ".stack-bench");
  const { stack, note } = await ensureStack(dir);
  log(note);
  // The bench's own ports sit next to the stack's, whatever base it was started with.
  const portBase = Number(new URL(stack.APP_URL).port) - 43;
  process.env.STACK_DIR = dir;
  process.env.STACK_PORT_BASE = String(portBase);
  const place: BenchPlace = { settings: stackSettings(), stack, dir: join(dir, "bench"), portBase };
  mkdirSync(place.dir, { recursive: true });
  // monitorCommands: the store-alone measurement counts insert commands.
  await mongoose.connect(stack.MONGODB_URI, { serverSelectionTimeoutMS: 5000, monitorCommands: true });
  try {
    const pairs = await benchPairs(stack, join(place.dir, "users.json"), pairCount, log);
    const result: BenchResult = {
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      machine: machine(),
      command: `scripts/bench/run ${process.argv.slice(2).join(" ")}`.trim(),
      stackNote: note,
      pairs: pairs.length,
      seconds,
      systems: [],
    };
    // Each system, and the idle-socket measurement, starts once the stack has worked off what came
    // before (signing users in, closing 10,000 sockets, a relay's backlog).
    for (const key of chosen) {
      // Pruned first, then settled: deleting tens of thousands of messages keeps FerretDB busy.
      if (key === "duet") log(`pruned ${await pruneBenchMessages(pairs)} messages of earlier runs from the bench rooms`);
      await settle(stackServerPids(place));
      result.systems.push(await benchSystem(place, key, pairs));
      // After Duet's steps, not before: it stores and then clears tens of thousands of scratch
      // messages, and Duet's steps right after that were the slowest seen (p50 39 ms at 250 msg/s).
      if (key === "duet" && flags["store-floor"] === "true") {
        // Cleared first: a scratch room's first number is checked against the stored messages,
        // which is a scan of the whole collection on FerretDB.
        await pruneBenchMessages(pairs);
        await settle(stackServerPids(place));
        result.storeFloor = await storeFloor(stack, pairs.length, place);
      }
    }
    if (idleCount > 0) {
      await pruneBenchMessages(pairs);
      await settle(stackServerPids(place));
      result.idle = await measureIdle(place, pairs, idleCount, Number(flags.hold), log);
    }
    writeFileSync(join(place.dir, "results.json"), JSON.stringify(result, null, 2));
    report(result, place.dir);
  } finally {
    await mongoose.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
