/** The bench's results as a compact table for the terminal and a Markdown file (docs/benchmarks.md). */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { Counts } from "./counters.js";
import type { IdleResult } from "./idle.js";
import { passes, type StepResult } from "./load.js";
import type { machine } from "./proc.js";
import type { FloorStep } from "./store-floor.js";

export type SystemResult = { label: string; key: string; steps: StepResult[]; note?: string; counts?: Counts };
export type BenchResult = {
  date: string;
  machine: ReturnType<typeof machine>;
  command: string;
  stackNote: string;
  /** /proc/loadavg when the run started (each step has its own). */
  loadAtStart?: string;
  pairs: number;
  seconds: number;
  systems: SystemResult[];
  /** Duet's store path alone at each rate (store-floor.ts). */
  storeFloor?: FloorStep[];
  idle?: IdleResult;
  /** Set when --max-minutes stopped the run: what follows the last measured step was not run. */
  stopped?: string;
};

const KIB = 1024;
const kib = (bytes: number) => `${(bytes / KIB).toFixed(1)} KiB`;

/** The highest stepped rate that passed, counting only up to the first failure. */
export function highestPassing(steps: readonly StepResult[]): number | undefined {
  let best: number | undefined;
  for (const step of [...steps].sort((a, b) => a.rate - b.rate)) {
    if (!passes(step)) break;
    best = step.rate;
  }
  return best;
}

const HEAD = [
  "system",
  "msg/s",
  "sent",
  "acked",
  "delivered",
  "lost",
  "dup",
  "reord",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "max ms",
  "app CPU-s/1k",
  "DB CPU-s/1k",
  "all CPU-s/1k",
  "lag p99",
  "load",
];

function rows(result: BenchResult): string[][] {
  return result.systems.flatMap((system) =>
    system.steps.map((r) => [
      system.label,
      String(r.rate),
      String(r.sent),
      String(r.acked),
      String(r.delivered),
      String(r.lost),
      String(r.duplicated),
      String(r.reordered),
      r.p50.toFixed(1),
      r.p95.toFixed(1),
      r.p99.toFixed(1),
      r.max.toFixed(0),
      r.appCpuPer1k.toFixed(2),
      // Results written before the database was counted on its own have none.
      r.dbCpuPer1k === undefined ? "" : r.dbCpuPer1k.toFixed(2),
      r.stackCpuPer1k.toFixed(2),
      r.sendLagP99.toFixed(1),
      r.loadAverage.split(" ")[0] ?? "",
    ]),
  );
}

const FLOOR_HEAD = [
  "store alone",
  "msg/s",
  "stored",
  "failed",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "max ms",
  "per insert",
  "stores CPU-s/1k",
  "driver alone CPU-s/1k",
  "numbering alone CPU-s/1k",
  "DB CPU-s/1k",
];

function floorRows(steps: readonly FloorStep[]): string[][] {
  return steps.map((r) => [
    "Duet's store",
    String(r.rate),
    String(r.stored),
    String(r.failed),
    r.p50.toFixed(1),
    r.p95.toFixed(1),
    r.p99.toFixed(1),
    r.max.toFixed(0),
    r.batch.toFixed(1),
    // Results written before these were measured lack them.
    r.storeCpuPer1k?.toFixed(2) ?? "n/a",
    r.driverCpuPer1k?.toFixed(2) ?? "n/a",
    r.numberingCpuPer1k?.toFixed(2) ?? "n/a",
    r.dbCpuPer1k.toFixed(2),
  ]);
}

const COUNT_HEAD = [
  "per message",
  "Redis script calls",
  "publishes",
  "other Redis commands",
  "in scripts",
  "pub/sub deliveries",
  "DB commands",
  "DB inserts",
  "what else",
];

function countRows(result: BenchResult): string[][] {
  return result.systems.flatMap((system) => {
    const c = system.counts;
    if (!c) return [];
    const n = (x: number | undefined) => (x === undefined ? "n/a" : x.toFixed(2));
    return [
      [
        system.label,
        n(c.scriptCalls),
        n(c.publishes),
        n(c.otherCommands),
        n(c.commandsInScripts),
        n(c.deliveries),
        n(c.dbCommands),
        n(c.dbInserts),
        [...c.otherByName, ...(c.dbByName ?? []).map((x) => `DB ${x}`)].join(", "),
      ],
    ];
  });
}

function summaries(result: BenchResult): string[] {
  const lines = result.systems.map((s) => {
    const best = highestPassing(s.steps);
    const at1k = s.steps.find((r) => r.rate === 1000);
    const errors = s.steps.flatMap((r) => Object.entries(r.errors).map(([code, n]) => `${code}×${n} at ${r.rate}`));
    const closed = s.steps.filter((r) => r.closed > 0).map((r) => `${r.closed} sockets closed at ${r.rate}`);
    return (
      `${s.label}: highest zero-loss rate with p99 < 50 ms: ${best === undefined ? "none of the rates tried" : `${best} msg/s`}` +
      (at1k ? `; at 1,000 msg/s p99 ${at1k.p99.toFixed(1)} ms, lost ${at1k.lost}` : "") +
      (errors.length || closed.length ? ` (${[...errors, ...closed].join(", ")})` : "") +
      (s.note ? ` — ${s.note}` : "")
    );
  });
  const idle = result.idle;
  if (idle) {
    lines.push(
      `Idle sockets: ${idle.opened}/${idle.sockets} authenticated sockets on one instance (opened in ${idle.openSeconds.toFixed(0)} s): ` +
        `heap ${kib(idle.heapPerSocket)}/socket after opening, ${kib(idle.heapPerSocketEnd)} after ${idle.holdSeconds} s idle; ` +
        `RSS ${kib(idle.rssPerSocket)} → ${kib(idle.rssPerSocketEnd)}/socket` +
        (Object.keys(idle.failures).length
          ? ` (${Object.entries(idle.failures)
              .map(([k, n]) => `${k}: ${n}`)
              .join(", ")})`
          : ""),
    );
  }
  return lines;
}

/**
 * What carrying and storing a message cost measured apart, at each rate, as multiples of
 * Socket.IO's app CPU: the bare ws relay's plus Duet's store path alone; plus the MongoDB
 * driver's insert alone (none of Duet's code) and Duet's numbering alone, the two round trips a
 * stored, numbered message needs; plus the insert alone. Duet delivers no message it has
 * not stored, so these say how much of its cost is storing at all. Not a strict bound: the store
 * runs in one process of its own, and its batches need not match a running instance's.
 */
function cpuFloors(result: BenchResult, sio: SystemResult) {
  const ws = result.systems.find((s) => s.key === "ws");
  return (result.storeFloor ?? []).flatMap((f) => {
    const [relay, reference] = [ws?.steps.find((x) => x.rate === f.rate), sio.steps.find((x) => x.rate === f.rate)];
    if (
      !relay ||
      !reference ||
      reference.appCpuPer1k <= 0 ||
      f.storeCpuPer1k === undefined ||
      f.driverCpuPer1k === undefined ||
      f.numberingCpuPer1k === undefined
    )
      return [];
    return [
      {
        rate: f.rate,
        store: (relay.appCpuPer1k + f.storeCpuPer1k) / reference.appCpuPer1k,
        driver: (relay.appCpuPer1k + f.driverCpuPer1k) / reference.appCpuPer1k,
        bare: (relay.appCpuPer1k + f.driverCpuPer1k + f.numberingCpuPer1k) / reference.appCpuPer1k,
      },
    ];
  });
}

/** Verdicts on issue 13's targets, as sentences. */
export function targets(result: BenchResult): string[] {
  const duet = result.systems.find((s) => s.key === "duet");
  const sio = result.systems.find((s) => s.key === "socketio");
  const out: string[] = [];
  const c = duet?.counts;
  if (c) {
    // "≤ 1 script call per batch + 1 publish": a batch holds one message or more. Presence's
    // renewal (SET and a PEXPIRE per user here, one pipeline per instance every 20 s) is not per
    // message, however many commands MONITOR shows for it.
    const renewal = (c.others.pexpire ?? 0) + (c.others.set ?? 0);
    const perMessage = c.otherCommands - renewal;
    const trips = c.scriptCalls <= 1.05 && c.publishes <= 1.05 && perMessage <= 0.1;
    out.push(
      `Redis round trips per message ≤ 1 script call per batch + 1 publish: ${trips ? "MET" : "NOT MET"} ` +
        `(${c.scriptCalls.toFixed(2)} script calls, ${c.publishes.toFixed(2)} publishes, ${perMessage.toFixed(2)} other commands per message, ` +
        `besides ${renewal.toFixed(2)} of presence renewal)`,
    );
    // The other member's instance is the only one that holds a recipient in the bench's topology
    // (Alice on instance A, Bob on B); the sender's own instance delivers locally.
    out.push(
      `pub/sub deliveries per message = instances that hold a recipient (1 here): ${c.deliveries <= 1.05 ? "MET" : "NOT MET"} ` +
        `(${c.deliveries.toFixed(2)})`,
    );
    out.push(
      c.dbInserts === undefined
        ? "database commands per message ≤ 1 insert per batch: not counted (the stack was not started by the bench, so FerretDB's counters are off)"
        : `database commands per message ≤ 1 insert per batch: ${(c.dbCommands ?? 0) <= 1.05 && c.dbInserts <= 1.05 ? "MET" : "NOT MET"} ` +
            `(${(c.dbCommands ?? 0).toFixed(2)} commands, ${c.dbInserts.toFixed(2)} inserts per message)`,
    );
  }
  if (duet && sio) {
    const both = duet.steps.filter((d) => d.rate >= 100 && d.rate <= 2000 && sio.steps.some((s) => s.rate === d.rate));
    const ratios = both.map((d) => {
      const s = sio.steps.find((x) => x.rate === d.rate);
      return { rate: d.rate, ratio: s && s.appCpuPer1k > 0 ? d.appCpuPer1k / s.appCpuPer1k : Infinity };
    });
    if (ratios.length > 0)
      out.push(
        `app CPU per 1,000 messages ≤ 1.5× Socket.IO's at every rate from 100 to 2,000 msg/s: ${ratios.every((r) => r.ratio <= 1.5) ? "MET" : "NOT MET"} ` +
          `(${ratios.map((r) => `${r.ratio.toFixed(2)}× at ${r.rate}`).join(", ")})`,
      );
    const floors = cpuFloors(result, sio);
    if (floors.length > 0)
      out.push(
        `  carrying and storing measured apart, as multiples of Socket.IO's CPU: the bare ws relay + Duet's store path alone; ` +
          `the bare ws relay + the MongoDB driver's insert alone + Duet's numbering alone; the bare ws relay + the insert alone: ` +
          floors.map((f) => `${f.store.toFixed(2)}× / ${f.bare.toFixed(2)}× / ${f.driver.toFixed(2)}× at ${f.rate}`).join(", "),
      );
    const sums = both.flatMap((d) => {
      const s = sio.steps.find((x) => x.rate === d.rate);
      const f = result.storeFloor?.find((x) => x.rate === d.rate);
      return s && f ? [{ rate: d.rate, p99: d.p99, bound: f.p99 + s.p99 }] : [];
    });
    if (sums.length > 0)
      out.push(
        `end-to-end p99 ≤ store-alone p99 + Socket.IO p99 at every rate up to 2,000 msg/s: ${sums.every((x) => x.p99 <= x.bound) ? "MET" : "NOT MET"} ` +
          `(${sums.map((x) => `${x.p99.toFixed(1)} vs ${x.bound.toFixed(1)} ms at ${x.rate}`).join(", ")})`,
      );
  }
  if (duet && sio) {
    const [d, s] = [highestPassing(duet.steps) ?? 0, highestPassing(sio.steps) ?? 0];
    const top = Math.max(...sio.steps.map((r) => r.rate));
    out.push(
      `Duet's highest zero-loss rate ≥ Socket.IO's: ${d >= s ? "MET" : "NOT MET"} (${d} vs ${s} msg/s` +
        (s === top ? "; Socket.IO passed every rate tried, so its true limit is higher" : "") +
        ")",
    );
  }
  const at1k = duet?.steps.find((r) => r.rate === 1000);
  if (duet && !at1k)
    out.push(`p99 ≤ 10 ms at 1,000 msg/s: NOT MET (not run: Duet was past its limit at ${duet.steps.at(-1)?.rate ?? "?"} msg/s)`);
  const floor1k = result.storeFloor?.find((r) => r.rate === 1000);
  if (at1k)
    out.push(
      `p99 ≤ 10 ms at 1,000 msg/s: ${at1k.p99 <= 10 && at1k.lost === 0 ? "MET" : "NOT MET"} (p99 ${at1k.p99.toFixed(1)} ms, ${at1k.lost} lost` +
        (floor1k ? `; storing alone, with no sockets, took p99 ${floor1k.p99.toFixed(1)} ms at this rate` : "") +
        ")",
    );
  const idle = result.idle;
  if (idle) {
    const flat = idle.heapPerSocketEnd <= idle.heapPerSocket * 1.05 + 256;
    const ok = idle.opened >= 10_000 && idle.heapPerSocketEnd <= 10 * KIB && flat;
    out.push(
      `10,000 idle sockets at ≤ 10 KiB heap each, flat: ${ok ? "MET" : "NOT MET"} (${idle.opened} sockets, ` +
        `${kib(idle.heapPerSocket)} → ${kib(idle.heapPerSocketEnd)} heap/socket over ${idle.holdSeconds} s, ${flat ? "flat" : "growing"})`,
    );
  }
  return out;
}

function pad(table: string[][]): string {
  const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => (row[c] ?? "").length))) ?? [];
  return table
    .map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join("  "))
    .join("\n");
}

export function terminalReport(result: BenchResult): string {
  const floor = result.storeFloor?.length ? [pad([FLOOR_HEAD, ...floorRows(result.storeFloor)]), ""] : [];
  const counts = countRows(result);
  const countTable = counts.length ? [pad([COUNT_HEAD, ...counts]), ""] : [];
  return [
    ...(result.stopped ? [result.stopped, ""] : []),
    pad([HEAD, ...rows(result)]),
    "",
    ...countTable,
    ...floor,
    ...summaries(result),
    "",
    ...targets(result),
  ].join("\n");
}

const markdownTable = (head: string[], body: string[][]) =>
  [head, head.map(() => "---"), ...body].map((row) => `| ${row.join(" | ")} |`).join("\n");

export function markdownSection(result: BenchResult): string {
  const m = result.machine;
  const table = markdownTable(HEAD, rows(result));
  const counts = countRows(result);
  const countTable = counts.length
    ? `
What the servers asked of Redis and the database per message, counted in a step of its own at the
lowest rate (Redis MONITOR, FerretDB's request counters; see \`scripts/bench/counters.ts\`):

${markdownTable(COUNT_HEAD, counts)}
`
    : "";
  const floor = result.storeFloor?.length
    ? `
Duet's store path alone, after Duet's steps: two message stores (the app's own code: numbers
from Redis, encryption, group commit into FerretDB, room activity) get the same rates with no
sockets, nginx or fan-out; latency is from the scheduled time to the acknowledged write. A
message reaches the other member only after it is stored, so this is the database's share.
"stores CPU-s/1k" is what the two stores themselves spent; "driver alone" is the MongoDB
driver's insert command alone (one message-shaped document per command, durable, none of Duet's
code) and "numbering alone" Duet's reservation script call alone (one per message, nothing
stored), at the same rate in the same process: all without the step's own pacing of the calls.

${markdownTable(FLOOR_HEAD, floorRows(result.storeFloor))}
`
    : "";
  return `# Benchmarks

Written by \`${result.command}\` on ${result.date}: ${m.os}, ${m.cores} cores (${m.cpu}), Node
${m.node}; load average at the start ${result.loadAtStart ?? "not recorded"}. The bench client, the
stack (FerretDB, Redis, nginx, two app instances) and the reference relays share these ${m.cores}
cores, all on loopback; other work on the machine shows in the load column. ${result.stackNote}
${result.pairs} pairs, ${result.seconds} s per step, open-loop, after every link has carried a
message, a warm-up and a quiet stack; latency is from the scheduled send time to the other
member's socket; CPU is user+system seconds per 1,000 messages of the two app (or relay)
processes, and of those plus Redis, FerretDB and nginx.${result.stopped ? `\n\n**${result.stopped}**` : ""}

${table}
${countTable}${floor}
${summaries(result)
  .map((line) => `- ${line}`)
  .join("\n")}

Targets (issue 13):

${targets(result)
  .map((line) => `- ${line}`)
  .join("\n")}
`;
}

/** Marks where the generated results end; what follows it in the file is kept on a rewrite. */
export const RESULTS_END = "<!-- end of scripts/bench/run output; what follows is kept -->";

/** Writes the results at the top of `file`; text after the RESULTS_END marker (notes on the numbers) stays. */
export function writeResultsFile(file: string, section: string): void {
  const old = existsSync(file) ? readFileSync(file, "utf8") : "";
  const end = old.indexOf(RESULTS_END);
  const kept = end >= 0 ? old.slice(end + RESULTS_END.length) : "\n";
  writeFileSync(file, `${section}\n${RESULTS_END}${kept}`);
}
