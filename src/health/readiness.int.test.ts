import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { readFileSync } from "node:fs";
import { probe } from "../../scripts/lib/http-probe.js";
import { startOne, stopOne } from "../../scripts/lib/stack.js";
import { stackSettings } from "../../scripts/lib/settings.js";
import type { TestBrowser } from "../test/browser.js";
import { signedUpUser } from "../test/factories.js";
import { eventually, stack } from "../test/support.js";

const settings = stackSettings();
const [instanceA = "", instanceB = ""] = stack.APP_INSTANCES.split(",");

async function readiness(instance: string): Promise<{ status: number; checks: Record<string, string> }> {
  const res = await fetch(`${instance}/readyz`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
}

describe("readiness follows MongoDB and Redis on every running instance", () => {
  let signedIn: TestBrowser;
  before(async () => (signedIn = (await signedUpUser("outage", instanceA)).browser));
  // Whatever happens, leave the stack whole for the tests that come after.
  after(async () => {
    await startOne(settings, "redis");
    await startOne(settings, "ferretdb");
  });

  for (const [service, check] of [
    ["redis", "redis"],
    ["ferretdb", "mongodb"],
  ] as const) {
    it(`/readyz turns 503 within seconds of stopping ${service} and 200 when it returns`, async (t) => {
      assert.equal((await readiness(instanceA)).status, 200);
      await stopOne(settings, service);

      for (const instance of [instanceA, instanceB]) {
        const ms = await eventually(`${instance} unready`, async () => (await readiness(instance)).status === 503, 5000);
        const { checks } = await readiness(instance);
        assert.notEqual(checks[check], "ok", `${check} should be failing: ${JSON.stringify(checks)}`);
        t.diagnostic(`${instance} unready ${ms} ms after ${service} stopped`);
      }
      // Seen from outside, through nginx: the status only, never the error text (addresses, ports).
      const outside = await probe(`${stack.APP_URL}/readyz`, { ca: readFileSync(stack.CA_CERT) });
      assert.equal(outside.status, 503);
      assert.deepEqual(JSON.parse(outside.body), { status: "unavailable" });
      // Liveness is not readiness: the process itself is fine and must not be restarted.
      assert.equal((await fetch(`${instanceA}/healthz`)).status, 200);
      // A signed-in page meanwhile says "back in a moment" (503), not "something went wrong".
      const page = await signedIn.get("/profile");
      assert.equal(page.status, 503, `${service} down: /profile answered ${page.status}`);
      assert.equal(page.headers.get("retry-after"), "5");
      assert.match(page.text, /Duet is starting or briefly unavailable/);

      await startOne(settings, service);
      for (const instance of [instanceA, instanceB]) {
        const ms = await eventually(`${instance} ready again`, async () => (await readiness(instance)).status === 200, 10_000);
        t.diagnostic(`${instance} ready ${ms} ms after ${service} was back`);
      }
    });
  }
});
