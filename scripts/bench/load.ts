/**
 * The open-loop driver: message i of a step is due at start + i/rate, whatever the server does
 * (no waiting for acks), so a slow server shows as latency and loss, not as a lower offered rate.
 * Each message carries its due time in its text; the other member's socket turns it into a
 * send→delivery latency, measured from the due time (no coordinated omission: if the bench
 * itself falls behind, that shows too, and `sendLag` says by how much).
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { build, type Histogram } from "hdr-histogram-js";
import type { Conn } from "./clients.js";
import { loadAverage, totalCpuSeconds, treeCpuSeconds } from "./proc.js";

/** One direction of a pair: what `from` sends, `to` must receive. */
export type Link = { from: Conn; to: Conn };

export type StepResult = {
  rate: number;
  seconds: number;
  sent: number;
  acked: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
  errors: Record<string, number>;
  closed: number;
  /** Send→other member's socket, milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** How late the bench sent (99th percentile, ms): above a few ms the client is the limit. */
  sendLagP99: number;
  /** Server CPU-seconds per 1,000 messages sent: the app (or relay) processes, then everything. */
  appCpuPer1k: number;
  stackCpuPer1k: number;
  /** The database's part of the stack's: FerretDB, and PostgreSQL's server and connections. */
  dbCpuPer1k?: number;
  benchCpuPer1k: number;
  loadAverage: string;
};

/** `db`: processes counted with everything under them (PostgreSQL forks one per connection). */
export type CpuPids = { app: number[]; stack: number[]; db: number[] };

/** CPU seconds of the database processes and all they started. */
export const dbCpuSeconds = (db: readonly number[]) => db.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);

const RUN = randomBytes(3).toString("hex");
const histogram = (): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 });
const now = () => performance.timeOrigin + performance.now();
const ms = (us: number) => Math.round(us / 10) / 100;

export async function runStep(
  step: number,
  links: readonly Link[],
  rate: number,
  seconds: number,
  drainMs: number,
  pids: CpuPids,
): Promise<StepResult> {
  const total = Math.round(rate * seconds);
  const acked = new Uint8Array(total);
  const delivered = new Uint8Array(total);
  const lastSeen = new Map<Link, number>();
  const latency = histogram();
  const lag = histogram();
  const errors: Record<string, number> = {};
  let ackCount = 0;
  let deliveredCount = 0;
  let duplicated = 0;
  let reordered = 0;
  // Unique per run: a message id is (room, sender, client id), and the rooms outlive a run.
  const prefix = `${RUN}s${step}-`;
  const indexOf = (clientId: string) => (clientId.startsWith(prefix) ? Number(clientId.slice(prefix.length)) : -1);

  for (const link of new Set(links.flatMap((l) => [l.from, l.to]))) {
    link.handlers = {
      ack(clientId) {
        const i = indexOf(clientId);
        if (i < 0 || acked[i]) return;
        acked[i] = 1;
        ackCount++;
      },
      message(clientId, text) {
        const i = indexOf(clientId);
        const route = links[i % links.length];
        // Duet also echoes a message to its sender's own sockets; only the other member counts.
        if (i < 0 || !route || route.to !== link) return;
        if (delivered[i]) return void duplicated++;
        delivered[i] = 1;
        deliveredCount++;
        const due = Number(/^t=([\d.]+) /.exec(text)?.[1]);
        latency.recordValue(Math.max(1, Math.round((now() - due) * 1000)));
        const previous = lastSeen.get(route) ?? -1;
        if (i < previous) reordered++;
        else lastSeen.set(route, i);
      },
      error(code) {
        errors[code] = (errors[code] ?? 0) + 1;
      },
    };
  }
  const closedBefore = countClosed(links);
  const cpuBefore = [totalCpuSeconds(pids.app), totalCpuSeconds(pids.stack), process.cpuUsage(), dbCpuSeconds(pids.db)] as const;

  const start = now() + 20;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const t = now();
      const due = Math.min(total, Math.floor(((t - start) * rate) / 1000) + 1);
      for (; next < due; next++) {
        const at = start + (next * 1000) / rate;
        const link = links[next % links.length];
        if (!link) break;
        if (!link.from.closedWith) link.from.send(`${prefix}${next}`, `t=${at.toFixed(3)} bench message ${next}`);
        lag.recordValue(Math.max(1, Math.round((t - at) * 1000)));
      }
      if (next >= total) resolve();
      else setTimeout(tick, 1);
    };
    setTimeout(tick, 20);
  });
  const drainUntil = now() + drainMs;
  while (now() < drainUntil && (deliveredCount < total || ackCount < total)) await sleep(25);

  const cpuAfter = [
    totalCpuSeconds(pids.app),
    totalCpuSeconds(pids.stack),
    process.cpuUsage(cpuBefore[2]),
    dbCpuSeconds(pids.db),
  ] as const;
  // Per 1,000 messages sent in this step, whatever the step's size (a step of 250 messages costs
  // four times its CPU per 1,000, not its CPU as is: dividing by at least 1 made small steps look
  // up to 4x cheaper, the "CPU jump between 25 and 100 msg/s" of an earlier README).
  const per1k = (seconds: number) => (total > 0 ? Math.round((seconds / (total / 1000)) * 1000) / 1000 : 0);
  const result: StepResult = {
    rate,
    seconds,
    sent: total,
    acked: ackCount,
    delivered: deliveredCount,
    lost: total - deliveredCount,
    duplicated,
    reordered,
    errors,
    closed: countClosed(links) - closedBefore,
    p50: ms(latency.getValueAtPercentile(50)),
    p95: ms(latency.getValueAtPercentile(95)),
    p99: ms(latency.getValueAtPercentile(99)),
    max: ms(latency.maxValue),
    sendLagP99: ms(lag.getValueAtPercentile(99)),
    appCpuPer1k: per1k(cpuAfter[0] - cpuBefore[0]),
    stackCpuPer1k: per1k(cpuAfter[1] - cpuBefore[1] + cpuAfter[3] - cpuBefore[3]),
    dbCpuPer1k: per1k(cpuAfter[3] - cpuBefore[3]),
    benchCpuPer1k: per1k((cpuAfter[2].user + cpuAfter[2].system) / 1e6),
    loadAverage: loadAverage(),
  };
  latency.destroy();
  lag.destroy();
  return result;
}

function countClosed(links: readonly Link[]): number {
  return new Set(links.flatMap((l) => [l.from, l.to]).filter((c) => c.closedWith !== undefined)).size;
}

/** The targets of the issue: no loss at all, and p99 under 50 ms. */
export const passes = (r: StepResult) => r.lost === 0 && r.duplicated === 0 && r.p99 < 50;
/** So far past its limit that higher rates would only take time. */
export const overloaded = (r: StepResult) => r.delivered < r.sent * 0.8 || r.p99 > 2000;
