/**
 * The last thing scripts/test prints when something failed: each failing test's name and the
 * start of its error, from the reports the run wrote (node:test TAP, Playwright JSON). CI keeps
 * only the end of a run's output, which the compose logs had filled; a chaos failure there
 * could not be read.
 *
 *   node --import tsx scripts/lib/failure-summary.ts REPORT...
 */
import { existsSync, readFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";

const LINES_PER_FAILURE = 25;
const MAX_FAILURES = 8;

type Failure = { where: string; name: string; error: string[] };

const plain = (text: string) => stripVTControlCharacters(text);

/** Failing tests (not the suites that only failed because of them) in a node:test TAP file. */
export function tapFailures(file: string, tap: string): Failure[] {
  const lines = tap.split("\n");
  const failures: Failure[] = [];
  lines.forEach((line, i) => {
    const head = /^(\s*)not ok \d+ - (.*)$/.exec(line);
    if (!head) return;
    const indent = (head[1] ?? "").length;
    const block: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j] ?? "";
      if (next.trim() === "...") break;
      block.push(next.slice(indent + 2));
    }
    if (block.some((l) => /failureType: '(subtestsFailed)'/.test(l))) return;
    const error: string[] = [];
    let inError = false;
    for (const l of block) {
      if (/^(error|expected|actual|operator):/.test(l)) {
        inError = true;
        error.push(l);
      } else if (inError && /^\s/.test(l)) error.push(l);
      else inError = false;
    }
    failures.push({ where: file, name: head[2] ?? "", error: error.length > 0 ? error : block });
  });
  return failures;
}

type PwSuite = { title?: string; suites?: PwSuite[]; specs?: PwSpec[] };
type PwSpec = { title: string; file?: string; line?: number; tests: PwTest[] };
type PwTest = { projectName?: string; status?: string; results?: Array<{ error?: { message?: string } }> };

/** Failing tests in a Playwright JSON report. */
export function playwrightFailures(file: string, report: { suites?: PwSuite[] }): Failure[] {
  const failures: Failure[] = [];
  const walk = (suite: PwSuite) => {
    for (const spec of suite.specs ?? [])
      for (const test of spec.tests)
        if (test.status === "unexpected") {
          const message = test.results?.find((r) => r.error?.message)?.error?.message ?? "(no error message)";
          failures.push({
            where: `${file} [${test.projectName ?? "?"}] ${spec.file ?? ""}:${spec.line ?? ""}`,
            name: spec.title,
            error: plain(message).split("\n"),
          });
        }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of report.suites ?? []) walk(suite);
  return failures;
}

function main(files: string[]): void {
  const failures: Failure[] = [];
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".json")) {
      try {
        failures.push(...playwrightFailures(file, JSON.parse(text) as { suites?: PwSuite[] }));
      } catch {
        failures.push({ where: file, name: "(report not readable)", error: [] });
      }
    } else failures.push(...tapFailures(file, text));
  }
  if (failures.length === 0) return;
  console.log(`== failures (${failures.length}; the first ${LINES_PER_FAILURE} lines of each error)`);
  for (const failure of failures.slice(0, MAX_FAILURES)) {
    console.log(`-- ${failure.name}\n   (${failure.where})`);
    for (const line of failure.error.slice(0, LINES_PER_FAILURE)) console.log(`   ${line}`);
  }
  if (failures.length > MAX_FAILURES) console.log(`   … and ${failures.length - MAX_FAILURES} more in the reports`);
}

if (import.meta.url === `file://${process.argv[1]}`) main(process.argv.slice(2));
