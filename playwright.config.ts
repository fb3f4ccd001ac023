import { join } from "node:path";
import { defineConfig, devices } from "@playwright/test";
import { readBrowserEnv } from "./scripts/lib/stack-env.js";
import { browserHomeTrusting, CHROMIUM, CHROMIUM_ARGS } from "./e2e/support/browser.js";

const stack = readBrowserEnv();
const home = browserHomeTrusting(stack.CA_CERT, join(stack.STACK_DIR, "browser-home"));

export default defineConfig({
  testDir: "e2e",
  // The Docker test's own specs run against its compose stack (playwright.docker.config.ts).
  testIgnore: "docker/**",
  outputDir: "test-results/e2e",
  fullyParallel: false,
  workers: 1,
  forbidOnly: true,
  retries: 0,
  timeout: 30_000,
  reporter: [["list"], ["json", { outputFile: "test-results/e2e.json" }]],
  use: {
    baseURL: stack.APP_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: { ...process.env, HOME: home } },
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], channel: undefined } },
    { name: "phone", use: { ...devices["Pixel 7"], channel: undefined }, grep: /@responsive/ },
  ],
});
