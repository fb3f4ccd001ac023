/**
 * `scripts/attack/run [flags]`: the attacks of issue #12 against the running native stack, as an
 * attacker makes them: through nginx (APP_URL) with raw HTTP and WebSocket clients, from
 * loopback addresses of their own. Prints attack, attempts and how many were let through (each
 * must be 0), and writes test-results/attack.json. Exits 1 if anything was let through or an
 * attack could not run.
 *
 *   --effort full|short     short: the version `npm test` runs (a minute); full: more rounds and fuzz cases
 *   --only name,name        attacks whose name contains one of these
 *   --json PATH             default test-results/attack.json
 *   --max-minutes 5         per attack
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../lib/settings.js";
import { ATTACKS } from "./attacks/index.js";
import { openBackstage } from "./backstage.js";
import { runAttacks } from "./harness.js";
import { allHeld, details, table, writeReport, type Report } from "./report.js";
import type { Effort } from "./types.js";

const { values: flags } = parseArgs({
  options: {
    effort: { type: "string", default: "full" },
    only: { type: "string", default: "" },
    json: { type: "string", default: join(ROOT, "test-results", "attack.json") },
    "max-minutes": { type: "string", default: "5" },
  },
});
if (flags.effort !== "full" && flags.effort !== "short") throw new Error("--effort is full or short");
const effort: Effort = flags.effort;
const only = flags.only.split(",").filter(Boolean);
const attacks = ATTACKS.filter((a) => only.length === 0 || only.some((o) => a.name.includes(o)));

const started = Date.now();
const backstage = await openBackstage();
try {
  const results = await runAttacks(attacks, {
    effort,
    backstage,
    timeoutMs: Number(flags["max-minutes"]) * 60_000,
    log: (line) => process.stdout.write(`[attack] ${line}\n`),
  });
  const report: Report = {
    effort,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    appUrl: backstage.stack.APP_URL,
    results,
  };
  writeReport(flags.json, report);
  process.stdout.write(`\n${table(results)}\n\n`);
  for (const line of details(results)) process.stdout.write(`${line}\n`);
  process.stdout.write(`${report.seconds.toFixed(0)} s; results in ${flags.json}\n`);
  process.exitCode = allHeld(report) ? 0 : 1;
} finally {
  await backstage.close();
}
