/** The bench's results as a compact table for the terminal and a Markdown section for README.md. */
import { readFileSync, writeFileSync } from "node:fs";
import type { IdleResult } from "./idle.js";
import { passes, type StepResult } from "./load.js";
import type { machine } from "./proc.js";
import type { FloorStep } from "./store-floor.js";

export type SystemResult = { label: string; key: string; steps: StepResult[]; note?: string };
export type BenchResult = {
  date: string;
  machine: ReturnType<typeof machine>;
  command: string;
  stackNote: string;
  pairs: number;
  seconds: number;
  systems: SystemResult[];
  /** Duet's store path alone at each rate (store-floor.ts). */
  storeFloor?: FloorStep[];
  idle?: IdleResult;
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
  "FerretDB CPU-s/1k",
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
    r.dbCpuPer1k.toFixed(2),
  ]);
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

/** Verdicts on the issue's three targets, as sentences. */
export function targets(result: BenchResult): string[] {
  const duet = result.systems.find((s) => s.key === "duet");
  const sio = result.systems.find((s) => s.key === "socketio");
  const out: string[] = [];
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
  return [pad([HEAD, ...rows(result)]), "", ...floor, ...summaries(result), "", ...targets(result)].join("\n");
}

const markdownTable = (head: string[], body: string[][]) =>
  [head, head.map(() => "---"), ...body].map((row) => `| ${row.join(" | ")} |`).join("\n");

export function markdownSection(result: BenchResult): string {
  const m = result.machine;
  const table = markdownTable(HEAD, rows(result));
  const floor = result.storeFloor?.length
    ? `
Duet's store path alone, after Duet's steps: two message stores (the app's own code: numbers
from Redis, encryption, group commit into FerretDB, room activity) get the same rates with no
sockets, nginx or fan-out; latency is from the scheduled time to the acknowledged write. A
message reaches the other member only after it is stored, so this is the database's share.

${markdownTable(FLOOR_HEAD, floorRows(result.storeFloor))}
`
    : "";
  return `## Benchmarks

\`scripts/bench/run\` (see \`scripts/bench/main.ts\` for what it does and its flags). Results of
\`${result.command}\` on ${result.date}: ${m.os}, ${m.cores} cores (${m.cpu}), Node ${m.node}.
The bench client, the stack (FerretDB, Redis, nginx, two app instances) and the reference relays
share these ${m.cores} cores, all on loopback; other work on the machine shows in the load column.
${result.stackNote} ${result.pairs} pairs, ${result.seconds} s per step, open-loop; latency is from
the scheduled send time to the other member's socket; CPU is user+system seconds per 1,000
messages of the two app (or relay) processes, and of those plus Redis, FerretDB and nginx.

${table}
${floor}
${summaries(result)
  .map((line) => `- ${line}`)
  .join("\n")}

Targets (issue 5):

${targets(result)
  .map((line) => `- ${line}`)
  .join("\n")}
`;
}

/** Marks where the generated results end; what follows it in README.md is kept on a rewrite. */
export const RESULTS_END = "<!-- end of scripts/bench/run --readme output; what follows is kept -->";

/**
 * Replaces README.md's "## Benchmarks" section (always the last one) or appends it. Text after
 * the RESULTS_END marker (the analysis of the numbers) survives the rewrite.
 */
export function writeReadmeSection(file: string, section: string): void {
  const readme = readFileSync(file, "utf8");
  const at = readme.search(/^## Benchmarks$/m);
  const head = at >= 0 ? readme.slice(0, at) : `${readme.trimEnd()}\n\n`;
  const end = readme.indexOf(RESULTS_END, Math.max(at, 0));
  const kept = at >= 0 && end >= 0 ? readme.slice(end + RESULTS_END.length) : "\n";
  writeFileSync(file, `${head}${section}\n${RESULTS_END}${kept}`);
}
