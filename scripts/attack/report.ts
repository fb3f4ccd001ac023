/** The harness's results: a table for the terminal and test-results/attack.json. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Effort, Outcome } from "./types.js";

export type AttackResult = Outcome & { attack: string; seconds: number; /** The harness itself failed. */ error?: string };

export type Report = { effort: Effort; startedAt: string; seconds: number; appUrl: string; results: AttackResult[] };

/** Whether every attack ran and none was let through. */
export const allHeld = (report: Report) => report.results.every((r) => r.letThrough === 0 && !r.error);

export function table(results: AttackResult[]): string {
  const rows = [
    ["attack", "attempts", "let through", "s"],
    ...results.map((r) => [r.attack, String(r.attempts), r.error ? "ERROR" : String(r.letThrough), r.seconds.toFixed(1)]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? "-".repeat(w) : `${"-".repeat(Math.max(w - 1, 1))}:`)).join(" | ")} |`;
  return [line(rows[0] ?? []), rule, ...rows.slice(1).map(line)].join("\n");
}

/** What was let through, and the harness's own failures, one line each. */
export function details(results: AttackResult[]): string[] {
  return results.flatMap((r) => [
    ...(r.error ? [`${r.attack}: harness error: ${r.error}`] : []),
    ...(r.letThrough > 0 ? r.notes.map((n) => `${r.attack}: ${n}`) : []),
  ]);
}

export function writeReport(path: string, report: Report): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
