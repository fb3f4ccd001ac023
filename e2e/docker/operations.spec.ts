/**
 * Issue #17, step 4: the operator's scripts against the compose stack, through its containers:
 * scripts/backup and scripts/restore (one-off app containers) take the database back to the
 * backup, and scripts/rotate-keys (`docker compose run`) rewraps the room keys so the old
 * master key can be dropped with every message still readable.
 */
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { signUpInBrowser } from "../support/accounts.js";
import { changeSetting, compose, inCheckout, LOCAL, setting } from "./support/compose.js";
import { reload } from "./support/page.js";
import { remember } from "./support/people.js";

test.describe.configure({ mode: "serial" });

const backupFile = join(process.env.DOCKER_STACK_DIR ?? ".", "backup.archive.gz");
let carol: Page;

async function send(page: Page, text: string) {
  const composer = page.getByLabel("Message", { exact: true });
  await composer.fill(text);
  await composer.press("Enter");
  await expect(page.locator("li.msg-me").last().locator(".state")).toContainText(/Sent|Read/);
}

/**
 * Recreates the app containers with .env as it is now. The stand-in nginx (1.22) resolves
 * `app` only when it starts, so it is restarted to find the new containers; nginx 1.28 in the
 * upstream image follows them through Docker's DNS by itself (nginx/render.sh).
 */
async function restartApp() {
  await compose(LOCAL, ["up", "-d", "app"]);
  await compose(LOCAL, ["restart", "nginx"]);
  await compose(LOCAL, ["up", "-d", "--wait"]);
}

test.beforeAll(async ({ browser }) => {
  carol = await (await browser.newContext()).newPage();
  const dan = await (await browser.newContext()).newPage();
  const carolEmail = await signUpInBrowser(carol, "Carol Docker");
  const danEmail = await signUpInBrowser(dan, "Dan Docker");
  await dan.context().close();
  await carol.goto("/chat");
  await carol.getByLabel("Their email").fill(danEmail);
  await carol.getByRole("button", { name: "Open chat" }).click();
  await send(carol, "Kept in the backup");
  // The production spec signs Carol in on the same installation.
  remember("carol", { email: carolEmail, room: new URL(carol.url()).pathname });
});

test.afterAll(async () => {
  await carol.context().close();
});

test("scripts/backup, then scripts/restore with the app stopped, takes the database back to the backup", async () => {
  const out = await inCheckout(LOCAL, "bash", ["scripts/backup", backupFile]);
  expect(out.split("\n")).toContain(backupFile);
  expect(statSync(backupFile).size).toBeGreaterThan(0);

  await send(carol, "Written after the backup");
  await compose(LOCAL, ["stop", "app"]);
  expect(await inCheckout(LOCAL, "bash", ["scripts/restore", "--yes", backupFile])).toContain(`Restored ${backupFile}`);
  await restartApp();

  await reload(carol);
  const mine = carol.locator("li.msg-me");
  await expect(mine).toHaveCount(1);
  await expect(mine).toContainText("Kept in the backup");
});

test("scripts/rotate-keys rewraps the room keys, and the old master key can then be dropped", async () => {
  const oldKeys = setting("MASTER_KEYS");
  const newKey = `k2:${randomBytes(32).toString("base64")}`;
  changeSetting("MASTER_KEYS", `${newKey},${oldKeys}`);
  expect(await inCheckout(LOCAL, "bash", ["scripts/rotate-keys"])).toMatch(/rewrapped [1-9]\d* room keys under "k2"/);

  changeSetting("MASTER_KEYS", newKey);
  await restartApp();
  await reload(carol);
  await expect(carol.locator("li.msg-me")).toContainText("Kept in the backup");
  await expect(carol.getByText("could not be read")).toHaveCount(0);
});
