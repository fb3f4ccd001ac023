/**
 * `scripts/chaos/run`: Duet's delivery under faults, in figures (issue #12). Pairs of people
 * talk through nginx across both app instances while one fault at a time hits the stack; the
 * table says, per fault, how many messages were sent, acked, stored and delivered, how many were
 * lost, duplicated or out of order, and how long until everyone heard new messages again. The
 * same table goes to test-results/chaos.json. Exits 1 unless every row reads 0 lost, 0
 * duplicated, 0 out of order.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { ROOT, stackSettings } from "../lib/settings.js";
import { FAULTS } from "./faults.js";
import { clean, countRun, formatTable } from "./report.js";
import { runChaos, type ChaosOptions } from "./scenario.js";

const USAGE = `usage: scripts/chaos/run [--pairs 4] [--rate 2] [--seconds 4] [--ack-timeout 10]
                        [--slow-reader-seconds 75] [--no-flood] [--no-reads] [--faults ${Object.keys(FAULTS).join(",")}]
                        [--json test-results/chaos.json]
  --pairs                pairs of people talking (each in their own room)
  --rate                 messages a second each person types (the send limit is 5)
  --seconds              how long each fault is held before it is repaired
  --ack-timeout          seconds a tab waits for an ack before it reconnects and resends
  --slow-reader-seconds  how long the slow reader stays frozen
  --no-flood             the others keep chatting normally meanwhile (no long pastes: no cut-off)
  --no-reads             tabs send no read receipts (the page sends one per message it is sent)`;

const { values } = parseArgs({
  options: {
    pairs: { type: "string", default: "4" },
    rate: { type: "string", default: "2" },
    seconds: { type: "string", default: "4" },
    "ack-timeout": { type: "string", default: "10" },
    "slow-reader-seconds": { type: "string", default: "75" },
    "no-flood": { type: "boolean", default: false },
    "no-reads": { type: "boolean", default: false },
    faults: { type: "string", default: Object.keys(FAULTS).join(",") },
    json: { type: "string", default: "test-results/chaos.json" },
    help: { type: "boolean", default: false },
  },
});

function number(name: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max)
    throw new Error(`--${name} must be a number from ${min} to ${max} (got ${raw})`);
  return value;
}

const started = Date.now();

async function main(): Promise<number> {
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options: ChaosOptions = {
    pairs: number("pairs", values.pairs, 1, 50),
    rate: number("rate", values.rate, 0.1, 4),
    holdMs: number("seconds", values.seconds, 1, 120) * 1000,
    ackTimeoutMs: number("ack-timeout", values["ack-timeout"], 2, 60) * 1000,
    slowReaderMs: number("slow-reader-seconds", values["slow-reader-seconds"], 1, 600) * 1000,
    flood: !values["no-flood"],
    reads: !values["no-reads"],
    faults: (values.faults ?? "").split(",").filter(Boolean),
    log: (line) => process.stdout.write(`[chaos] ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}\n`),
  };
  const load = loadavg();
  const run = await runChaos(stackSettings(), options);
  const rows = countRun(run);
  const seconds = Math.round((run.finishedAt - run.startedAt) / 1000);
  const machine = {
    cpus: cpus().length,
    loadBefore: load.map((l) => Number(l.toFixed(2))),
    loadAfter: loadavg().map((l) => Number(l.toFixed(2))),
  };
  process.stdout.write(
    `\n${options.pairs} pairs, ${options.rate} messages/s per person, faults held ${options.holdMs / 1000} s, ack timeout ${options.ackTimeoutMs / 1000} s; ${seconds} s; load ${machine.loadBefore[0]} → ${machine.loadAfter[0]} on ${machine.cpus} cores\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n`);
  if (!run.settled)
    process.stdout.write("\nThe tabs had not all caught up when the run stopped waiting: what had not arrived counts as lost.\n");
  const file = resolve(ROOT, values.json ?? "test-results/chaos.json");
  mkdirSync(dirname(file), { recursive: true });
  const { log: _log, ...settings } = options;
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date(run.startedAt).toISOString(), seconds, options: settings, machine, settled: run.settled, rows, clean: run.settled && clean(rows) }, null, 2)}\n`,
  );
  process.stdout.write(`\n${file}\n`);
  return run.settled && clean(rows) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[chaos] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
