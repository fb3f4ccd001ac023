import { join } from "node:path";
import { defineConfig, devices } from "@playwright/test";
import { readBrowserEnv } from "./scripts/lib/stack-env.js";
import { browserHomeTrusting, CHROMIUM, CHROMIUM_ARGS } from "./e2e/support/browser.js";

const stack = readBrowserEnv();
const HISTORY = "history-paging.spec.ts";
const home = browserHomeTrusting(stack.CA_CERT, join(stack.STACK_DIR, "browser-home"));

export default defineConfig({
  testDir: "e2e",
  // The Docker test's own specs run against its compose stack (playwright.docker.config.ts).
  testIgnore: "docker/**",
  outputDir: "test-results/e2e",
  // Two files at a time (a file's tests stay in order in one worker): every test makes its own
  // users and rooms, so none sees another's data. Not the 10,000-message room (the "history"
  // project): its writes and whole-collection scans on FerretDB starved the specs beside it, so it
  // runs after the others, alone (scripts/test runs it as its own step, with --no-deps).
  fullyParallel: false,
  workers: 2,
  forbidOnly: true,
  retries: 0,
  timeout: 30_000,
  // What a page shows after a server round trip that writes (a delete, an edit): with two workers
  // on 2 cores, FerretDB/SQLite's one writer can keep a durable write waiting for seconds (a
  // delete's tombstone missed the default 5 s once in CI). Still a wait on a condition.
  expect: { timeout: 10_000 },
  reporter: [["list"], ["json", { outputFile: "test-results/e2e.json" }]],
  use: {
    baseURL: stack.APP_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: { ...process.env, HOME: home } },
  },
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"], channel: undefined }, testIgnore: ["docker/**", HISTORY] },
    {
      name: "phone",
      use: { ...devices["Pixel 7"], channel: undefined },
      testIgnore: ["docker/**", HISTORY],
      grep: /@responsive/,
    },
    {
      name: "history",
      use: { ...devices["Desktop Chrome"], channel: undefined },
      testMatch: HISTORY,
      dependencies: ["desktop", "phone"],
    },
  ],
});
