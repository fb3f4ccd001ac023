/**
 * Issue 6: the Dockerfile passes hadolint (settings and the reason for each exception in
 * .hadolint.yaml), and its images start the app the way the native stack does.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ROOT } from "./settings.js";
import { tool } from "./tools.js";

const run = promisify(execFile);
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");

describe("the Dockerfile", () => {
  test("hadolint finds nothing", async () => {
    const result = await run(tool("hadolint"), ["--format", "json", "Dockerfile"], { cwd: ROOT }).catch(
      (err: { stdout: string }) => err,
    );
    assert.deepEqual(JSON.parse(result.stdout), []);
  });

  test("the app image runs `node dist/server.js` as a non-root user under an init, with a health check", () => {
    const app = dockerfile.slice(dockerfile.indexOf("AS app"), dockerfile.indexOf("AS nginx"));
    assert.match(app, /^CMD \["node", "dist\/server\.js"\]$/m);
    assert.match(app, /^ENTRYPOINT \["\/sbin\/tini", "--"\]$/m);
    assert.match(app, /^USER 1000:1000$/m);
    assert.match(app, /^HEALTHCHECK .*\n.*\/healthz/m);
    assert.match(app, /NODE_ENV=production/);
  });

  test("every file the Dockerfile copies from the build context exists", () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? "").split(" "));
    assert.ok(sources.length > 5);
    for (const source of sources) assert.ok(existsSync(join(ROOT, source)), source);
  });
});
