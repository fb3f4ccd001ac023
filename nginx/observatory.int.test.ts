/**
 * Issue 6: Mozilla's HTTP Observatory grades the site A+, with its own scanner
 * (@mdn/mdn-http-observatory, installed by scripts/install from scripts/observatory/). The scanner only knows default ports, so it scans an nginx
 * rendered from the same templates on loopback ports 80 and 443, exactly as Docker publishes
 * them, in front of the running stack's app instances. It trusts the local CA through
 * NODE_EXTRA_CA_CERTS, as a browser would after importing it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readStackEnv } from "../scripts/lib/stack-env.js";
import { startNginx, type NginxInstance } from "../scripts/lib/nginx-instance.js";
import { tool } from "../scripts/lib/tools.js";

type Scan = {
  scan: { grade: string; score: number; testsFailed: number; testsPassed: number };
  tests: Record<string, { pass: boolean; result: string; scoreModifier: number }>;
};

const run = promisify(execFile);
const stack = readStackEnv();

describe("Mozilla HTTP Observatory", () => {
  const dir = mkdtempSync(join(tmpdir(), "duet-observatory-"));
  let nginx: NginxInstance;
  let report: Scan;

  before(async () => {
    nginx = await startNginx(dir, {
      httpPort: 80,
      httpsPort: 443,
      TLS_CERT: join(dirname(stack.CA_CERT), "fullchain.pem"),
      TLS_KEY: join(dirname(stack.CA_CERT), "server.key"),
      APP_UPSTREAMS: stack.APP_INSTANCES.replaceAll("http://", "").replaceAll(",", " "),
    });
    const { stdout } = await run(process.execPath, [tool("observatory"), "localhost"], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.CA_CERT },
    });
    report = JSON.parse(stdout) as Scan;
  });

  after(async () => {
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("grades the site A+ with every test passed", () => {
    const failed = Object.entries(report.tests).filter(([, t]) => !t.pass);
    assert.deepEqual(failed, []);
    assert.equal(report.scan.grade, "A+", `score ${report.scan.score}`);
    console.log(`# observatory: ${report.scan.grade}, score ${report.scan.score}, ${report.scan.testsPassed} tests passed`);
  });

  test("sees the redirect from http to https and HSTS for two years", () => {
    assert.equal(report.tests["redirection"]?.result, "redirection-to-https");
    assert.equal(report.tests["strict-transport-security"]?.result, "hsts-implemented-max-age-at-least-six-months");
    assert.match(report.tests["content-security-policy"]?.result ?? "", /^csp-implemented-with-no-unsafe/);
  });
});
