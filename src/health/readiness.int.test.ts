import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { startOne, stopOne } from "../../scripts/lib/stack.js";
import { stackSettings } from "../../scripts/lib/settings.js";
import { eventually, stack } from "../test/support.js";

const settings = stackSettings();
const [instanceA = "", instanceB = ""] = stack.APP_INSTANCES.split(",");

async function readiness(instance: string): Promise<{ status: number; checks: Record<string, string> }> {
  const res = await fetch(`${instance}/readyz`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
}

describe("readiness follows MongoDB and Redis on every running instance", () => {
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
      // Liveness is not readiness: the process itself is fine and must not be restarted.
      assert.equal((await fetch(`${instanceA}/healthz`)).status, 200);

      await startOne(settings, service);
      for (const instance of [instanceA, instanceB]) {
        const ms = await eventually(`${instance} ready again`, async () => (await readiness(instance)).status === 200, 10_000);
        t.diagnostic(`${instance} ready ${ms} ms after ${service} was back`);
      }
    });
  }
});
