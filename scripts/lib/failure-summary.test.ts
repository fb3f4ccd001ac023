import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { playwrightFailures, tapFailures } from "./failure-summary.js";

describe("the failure summary at the end of scripts/test", () => {
  it("names each failing node:test test with its error, not the suites around it", () => {
    const dir = mkdtempSync(join(tmpdir(), "duet-tap-"));
    try {
      writeFileSync(
        join(dir, "a.test.mjs"),
        `import { describe, it } from "node:test";
import assert from "node:assert/strict";
describe("outer", () => {
  it("passes", () => {});
  it("loses a message", () => assert.deepEqual({ lost: 1 }, { lost: 0 }, "kill -9 redis: 1 lost"));
});`,
      );
      const tap = join(dir, "a.tap");
      spawnSync(process.execPath, ["--test", "--test-reporter=tap", `--test-reporter-destination=${tap}`, "a.test.mjs"], {
        cwd: dir,
        // Not as a child of this run: node:test would report the inner file to this one.
        env: { PATH: process.env.PATH },
      });
      const failures = tapFailures("a.tap", readFileSync(tap, "utf8"));
      assert.deepEqual(
        failures.map((f) => f.name),
        ["loses a message"],
      );
      assert.ok(
        failures[0]?.error.some((line) => line.includes("kill -9 redis: 1 lost")),
        failures[0]?.error.join("\n"),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names each unexpected Playwright result with its project and message", () => {
    const report = {
      suites: [
        {
          title: "attachments.spec.ts",
          specs: [
            {
              title: "ok one",
              file: "attachments.spec.ts",
              line: 5,
              tests: [{ projectName: "desktop", status: "expected", results: [] }],
            },
          ],
          suites: [
            {
              title: "inner",
              specs: [
                {
                  title: "deletes a file",
                  file: "attachments.spec.ts",
                  line: 23,
                  tests: [
                    {
                      projectName: "phone",
                      status: "unexpected",
                      results: [{ error: { message: "\u001b[31mTimeout\u001b[39m\nline 2" } }],
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const failures = playwrightFailures("e2e.json", report);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.name, "deletes a file");
    assert.match(failures[0]?.where ?? "", /\[phone\] attachments\.spec\.ts:23/);
    assert.deepEqual(failures[0]?.error, ["Timeout", "line 2"]);
  });
});
