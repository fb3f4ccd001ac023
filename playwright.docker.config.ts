/**
 * The Docker test's browser and operations specs (scripts/docker-test runs them): against the
 * compose stack at https://localhost, its generated CA trusted by the browser. Projects run in
 * order, each only if the one before passed; `down` runs last whatever happened.
 */
import { join } from "node:path";
import { defineConfig, devices } from "@playwright/test";
import { readBrowserEnv } from "./scripts/lib/stack-env.js";
import { browserHomeTrusting, CHROMIUM, CHROMIUM_ARGS } from "./e2e/support/browser.js";

const stack = readBrowserEnv();
const home = browserHomeTrusting(stack.CA_CERT, join(stack.STACK_DIR, "browser-home"));
const desktop = { ...devices["Desktop Chrome"], channel: undefined };

export default defineConfig({
  testDir: "e2e",
  // The host's network settled before any browser starts (e2e/docker/support/network.ts).
  globalSetup: "./e2e/docker/support/global-setup.ts",
  outputDir: "test-results/docker",
  fullyParallel: false,
  workers: 1,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"], ["json", { outputFile: "test-results/docker.json" }]],
  use: {
    ...desktop,
    baseURL: stack.APP_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: { ...process.env, HOME: home } },
  },
  projects: [
    { name: "stack", testMatch: "docker/stack.spec.ts", teardown: "down" },
    { name: "stories", testMatch: ["chat.spec.ts", "docker/replicas.spec.ts"], dependencies: ["stack"] },
    { name: "operations", testMatch: "docker/operations.spec.ts", dependencies: ["stories"] },
    { name: "production", testMatch: "docker/production.spec.ts", dependencies: ["operations"] },
    { name: "down", testMatch: "docker/down.spec.ts" },
  ],
});
