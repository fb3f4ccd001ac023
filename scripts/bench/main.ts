/**
 * `scripts/bench/run [flags]`: Duet under load next to two reference relays, on this machine.
 *
 * N pairs chat across two instances through nginx at a fixed offered rate that steps up; for
 * each system and rate: sent, acked, delivered, lost, duplicated, reordered, latency
 * p50/p95/p99 and CPU-seconds per 1,000 messages; per message, what the servers asked of Redis
 * (script calls, publishes, other commands), pub/sub deliveries and database commands (counted
 * in a step of their own, counters.ts); then memory per idle socket on one instance. Duet is
 * driven only over HTTP and WebSocket, like any client (users.ts, clients.ts); its limits come
 * from src/chat/limits.ts. Uses the native stack in --stack-dir, starting it (through
 * `scripts/stack`, on --port-base) if none runs there; --fresh-stack wipes it first, which is how
 * a full run starts (an empty database, FerretDB's request counters on).
 *
 * Its flags are USAGE below, which `--help` prints.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { SEND_LIMIT } from "../../src/chat/limits.js";
import type { Conn } from "./clients.js";
import { startCounting } from "./counters.js";
import { measureIdle, SOCKETS_PER_USER } from "./idle.js";
import { dbCpuSeconds, overloaded, runStep, type CpuPids, type Link } from "./load.js";
import { loadAverage, machine, totalCpuSeconds } from "./proc.js";
import { markdownSection, terminalReport, writeResultsFile, type BenchResult, type SystemResult } from "./report.js";
import { benchStack, ROOT } from "./stack.js";
import type { FloorStep } from "./store-floor.js";
import { edgePids, stopBenchProcesses, systems, type BenchPlace, type SystemKey } from "./systems.js";
import { benchPairs, inParallel, saveBenchPairs, type BenchPair } from "./users.js";

const USAGE = `scripts/bench/run [flags]: Duet under load next to two reference relays, on this machine.

  --rates 100,250,500,1000,2000   offered rates, msg/s    --seconds 10   per step
  --systems duet,ws,socketio      which to run            --drain 5      s to wait for stragglers
  --warmup 5                      s at the lowest rate after every link has carried a message
  --count-seconds 5               s of the counting step (at the lowest rate; 0: skip)
  --idle 10000                    idle sockets (0: skip)  --hold 30      s to hold them idle
  --pairs N                       default: enough for Duet's per-user send limit
  --store-floor true              with duet: then its store path alone at each rate (store-alone.ts)
  --stack-dir .stack-bench        --port-base 29400       --fresh-stack  wipe and start it first
  --results docs/benchmarks.md    write the results there (the part above its end marker)
  --from-results                  only report (and write) the last run's <stack-dir>/bench/results.json
  --max-minutes 30                stop (and stop the relays and edges) after this long, whatever happens
`;

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        help: { type: "boolean", short: "h", default: false },
        rates: { type: "string", default: "100,250,500,1000,2000" },
        seconds: { type: "string", default: "10" },
        drain: { type: "string", default: "5" },
        warmup: { type: "string", default: "5" },
        "count-seconds": { type: "string", default: "5" },
        systems: { type: "string", default: "duet,ws,socketio" },
        idle: { type: "string", default: "10000" },
        hold: { type: "string", default: "30" },
        pairs: { type: "string" },
        "store-floor": { type: "string", default: "true" },
        "stack-dir": { type: "string", default: ".stack-bench" },
        "port-base": { type: "string", default: "29400" },
        "fresh-stack": { type: "boolean", default: false },
        results: { type: "string" },
        "max-minutes": { type: "string", default: "30" },
        "from-results": { type: "boolean", default: false },
      },
    });
  } catch (err) {
    exitWith(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
})();
if (parsed.values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const flags = parsed.values;
// Every number a flag gives is checked here, so a typo stops the bench before it starts a stack.
for (const name of [
  "seconds",
  "drain",
  "warmup",
  "count-seconds",
  "idle",
  "hold",
  "pairs",
  "port-base",
  "max-minutes",
] as const) {
  const value = flags[name];
  if (value !== undefined && !(Number.isFinite(Number(value)) && Number(value) >= 0))
    exitWith(`--${name} must be a number of zero or more, not "${value}"`);
}
if (!flags.rates.split(",").every((r) => Number.isFinite(Number(r)) && Number(r) > 0))
  exitWith(`--rates must be positive numbers separated by commas, not "${flags.rates}"`);
const known = ["duet", "ws", "socketio"];
for (const key of flags.systems.split(",").filter(Boolean))
  if (!known.includes(key)) exitWith(`--systems: "${key}" is not one of ${known.join(", ")}`);

function exitWith(message: string): never {
  process.stderr.write(`scripts/bench/run: ${message}\n`);
  process.exit(2);
}
const rates = flags.rates
  .split(",")
  .map(Number)
  .sort((a, b) => a - b);
const seconds = Number(flags.seconds);
const idleCount = Number(flags.idle);
const chosen = flags.systems.split(",").filter(Boolean) as SystemKey[];
const stackDir = resolve(ROOT, flags["stack-dir"]);
const benchDir = join(stackDir, "bench");
const usersFile = join(benchDir, "users.json");
/** Step numbers (client ids s97-…) of the unreported steps, apart from the measured steps'. */
const [LINKS_STEP, WARMUP_STEP, COUNT_STEP] = [97, 98, 99];
const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

/** Each user may send SEND_LIMIT.points per SEND_LIMIT.windowMs; stay under 80% of it. */
const perUserRate = (0.8 * SEND_LIMIT.points) / (SEND_LIMIT.windowMs / 1000);
const pairCount =
  Number(flags.pairs ?? 0) ||
  Math.max(Math.ceil(Math.max(...rates) / (2 * perUserRate)), Math.ceil(idleCount / (2 * SOCKETS_PER_USER)));

async function connectAll(place: BenchPlace, key: SystemKey, urls: [string, string], pairs: readonly BenchPair[]) {
  const system = systems(place)[key];
  const ca = readFileSync(place.stack.env.CA_CERT);
  const open = (pair: BenchPair, side: 0 | 1): Promise<Conn> => {
    const user = side === 0 ? pair.alice : pair.bob;
    return system.connect({
      url: urls[side].replace(/^https/, "wss"),
      roomId: pair.roomId,
      userId: user.email,
      cookie: user.cookie,
      ca,
      after: pair.seq,
    });
  };
  const conns = await inParallel(pairs, 16, async (pair) => [await open(pair, 0), await open(pair, 1)] as const);
  const links: Link[] = conns.flatMap(([alice, bob]) => [
    { from: alice, to: bob },
    { from: bob, to: alice },
  ]);
  return { conns, links, close: () => conns.forEach(([a, b]) => (a.close(), b.close())) };
}

async function benchSystem(place: BenchPlace, key: SystemKey, pairs: BenchPair[]): Promise<SystemResult> {
  const system = systems(place)[key];
  const result: SystemResult = { key, label: system.label, steps: [] };
  log(`${system.label}: starting, ${pairs.length * 2} sockets (Alice → edge A → instance A, Bob → edge B → instance B)`);
  try {
    const urls = await system.start();
    const { conns, links, close } = await connectAll(place, key, urls, pairs);
    const serverPids = (): CpuPids => ({
      app: system.appPids(),
      stack: [place.stack.pid("redis")],
      db: place.stack.dbPids(),
    });
    const pids = (): CpuPids => ({ ...serverPids(), stack: [...serverPids().stack, ...edgePids(place)] });
    const drainMs = Number(flags.drain) * 1000;
    const lowest = rates[0] ?? 100;
    try {
      // Every system gets the same warm-up, unreported: first every link carries one message
      // (for Duet each room's first activity write, each socket's first send), then the lowest
      // rate for a while (JIT, connection pools); then the servers are left to go quiet.
      await runStep(LINKS_STEP, links, Math.min(lowest, 200), links.length / Math.min(lowest, 200), drainMs, pids());
      if (Number(flags.warmup) > 0) await runStep(WARMUP_STEP, links, lowest, Number(flags.warmup), drainMs, pids());
      await settle(serverPids());
      if (Number(flags["count-seconds"]) > 0) {
        const counting = await startCounting(place.stack.env.REDIS_ADMIN_URL, place.stack.metricsUrl);
        const r = await runStep(COUNT_STEP, links, lowest, Number(flags["count-seconds"]), drainMs, pids());
        result.counts = await counting.stop(r.sent);
        log(`${system.label} counts per message: ${JSON.stringify(result.counts)}`);
        await settle(serverPids());
      }
      for (const [step, rate] of rates.entries()) {
        const r = await runStep(step, links, rate, seconds, drainMs, pids());
        result.steps.push(r);
        log(
          `${system.label} @ ${rate}/s: delivered ${r.delivered}/${r.sent}, acked ${r.acked}, p50 ${r.p50} p99 ${r.p99} ms, ` +
            `app ${r.appCpuPer1k} database ${r.dbCpuPer1k} CPU-s/1k, load ${r.loadAverage}`,
        );
        if (overloaded(r) && step < rates.length - 1) {
          result.note = `stopped after ${rate} msg/s: far past its limit`;
          break;
        }
        await settle(serverPids());
      }
    } finally {
      if (key === "duet") {
        // Where each room got to, so the next run's sockets resume there with no catch-up.
        conns.forEach(([a, b], i) => {
          const pair = pairs[i];
          if (pair) pair.seq = Math.max(pair.seq, a.highest, b.highest);
        });
        saveBenchPairs(usersFile, pairs);
      }
      close();
      await settle({ app: system.appPids(), stack: [], db: [] });
    }
  } finally {
    await system.stop();
  }
  return result;
}

/** The native stack's own servers: both app instances, Redis and the database. */
const stackServerPids = (place: BenchPlace): CpuPids => ({
  app: ["app-1", "app-2"].map((n) => place.stack.pid(n)),
  stack: [place.stack.pid("redis")],
  db: place.stack.dbPids(),
});

const serversCpu = (pids: CpuPids) => totalCpuSeconds([...pids.app, ...pids.stack]) + dbCpuSeconds(pids.db);

/** Waits (at most 90 s) until the servers have worked off any backlog: under 0.1 CPU-seconds in a second. */
async function settle(pids: CpuPids): Promise<void> {
  for (let waited = 0; waited < 90; waited++) {
    const before = serversCpu(pids);
    await sleep(1000);
    if (serversCpu(pids) - before < 0.1) return;
  }
  log("servers still busy after 90 s; going on");
}

/** Duet's store path alone, in a process of its own (store-alone.ts). */
function storeAlone(rooms: number): Promise<FloorStep[]> {
  log(`store alone: two message stores, ${rooms} rooms, no sockets`);
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "scripts", "bench", "store-alone.ts"),
      "--stack-dir",
      stackDir,
      "--rooms",
      String(rooms),
      "--rates",
      rates.join(","),
      "--seconds",
      String(seconds),
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out) as FloorStep[]) : reject(new Error(`store alone exited with ${code}`)),
    ),
  );
}

function report(result: BenchResult): void {
  process.stdout.write(`\n${terminalReport(result)}\n\n(full results: ${join(benchDir, "results.json")})\n`);
  if (!flags.results) return;
  const file = resolve(ROOT, flags.results);
  writeResultsFile(file, markdownSection(result));
  // The lint step checks Markdown formatting; the generated table comes out unaligned.
  execFileSync("npx", ["prettier", "--write", file], { cwd: ROOT, stdio: "ignore" });
  log(`${flags.results}: results written`);
}

/** What has been measured so far, kept in results.json after every step so a stopped run keeps it. */
let measured: BenchResult | undefined;
const save = (result: BenchResult) => writeFileSync(join(benchDir, "results.json"), JSON.stringify(result, null, 2));

async function main(): Promise<void> {
  if (flags["from-results"]) return report(JSON.parse(readFileSync(join(benchDir, "results.json"), "utf8")) as BenchResult);
  // Bounded whatever happens: a wedged database must not hold the run (and its relays) forever.
  // What was measured by then is still reported, saying where it stopped.
  setTimeout(
    () => {
      log(`still running after ${flags["max-minutes"]} minutes: stopping`);
      if (measured) {
        const stopped = `Stopped by --max-minutes ${flags["max-minutes"]}: the steps after the last one shown were not run.`;
        save({ ...measured, stopped });
        report({ ...measured, stopped });
      }
      void stopBenchProcesses(benchDir).finally(() => process.exit(2));
    },
    Number(flags["max-minutes"]) * 60_000,
  ).unref();
  const portBase = Number(flags["port-base"]);
  const stack = await benchStack(stackDir, portBase, flags["fresh-stack"], log);
  log(stack.note);
  const place: BenchPlace = { stack, dir: benchDir, portBase };
  mkdirSync(place.dir, { recursive: true });
  const pairs = await benchPairs(stack.env, usersFile, pairCount, log);
  const result: BenchResult = {
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    machine: machine(),
    command: `scripts/bench/run ${process.argv.slice(2).join(" ")}`.trim(),
    stackNote: stack.note,
    loadAtStart: loadAverage(),
    pairs: pairs.length,
    seconds,
    systems: [],
  };
  measured = result;
  // Each system, and the idle-socket measurement, starts once the stack has worked off what came
  // before (signing users up, closing 10,000 sockets, a relay's backlog).
  for (const key of chosen) {
    await settle(stackServerPids(place));
    result.systems.push(await benchSystem(place, key, pairs));
    save(result);
    if (key === "duet" && flags["store-floor"] === "true") {
      await settle(stackServerPids(place));
      result.storeFloor = await storeAlone(pairs.length);
      save(result);
    }
  }
  if (idleCount > 0) {
    await settle(stackServerPids(place));
    result.idle = await measureIdle(place, pairs, idleCount, Number(flags.hold), log);
  }
  save(result);
  report(result);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[bench] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
