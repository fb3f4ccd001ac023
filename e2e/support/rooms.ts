import { expect, type Browser, type BrowserContextOptions, type Page, type TestInfo } from "@playwright/test";
import { signUpInBrowser } from "./accounts.js";

/** The context options of the running project (desktop or phone), plus any given. */
export function contextFor(info: TestInfo, extra: BrowserContextOptions = {}): BrowserContextOptions {
  return {
    viewport: info.project.use.viewport ?? null,
    isMobile: info.project.use.isMobile,
    hasTouch: info.project.use.hasTouch,
    userAgent: info.project.use.userAgent,
    deviceScaleFactor: info.project.use.deviceScaleFactor,
    ...extra,
  };
}

/** Opens the room with `email` from the list page; returns its URL. */
export async function openChatWith(page: Page, email: string): Promise<string> {
  await page.goto("/chat");
  await page.getByLabel("Their email").fill(email);
  await page.getByRole("button", { name: "Open chat" }).click();
  await expect(page).toHaveURL(/\/chat\/[A-Za-z0-9_-]{22}$/);
  return page.url();
}

export async function live(page: Page): Promise<void> {
  await expect(page.locator("#chat")).toHaveAttribute("data-state", "live", { timeout: 15_000 });
}

/** Two new users in one room, both on its page and live. */
export async function twoInARoom(browser: Browser, info: TestInfo, names = ["Alice", "Bob"], extra: BrowserContextOptions = {}) {
  const aliceContext = await browser.newContext(contextFor(info, extra));
  const bobContext = await browser.newContext(contextFor(info, extra));
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  // Two browsers, two sign-ups at once: nothing in one waits on the other.
  const [aliceEmail, bobEmail] = await Promise.all([
    signUpInBrowser(alice, `${names[0]} ${info.project.name}`),
    signUpInBrowser(bob, `${names[1]} ${info.project.name}`),
  ]);
  const roomUrl = await openChatWith(alice, bobEmail);
  await bob.goto(roomUrl);
  await live(alice);
  await live(bob);
  return {
    alice,
    bob,
    aliceContext,
    bobContext,
    aliceEmail,
    bobEmail,
    roomUrl,
    close: () => Promise.all([aliceContext.close(), bobContext.close()]),
  };
}

/** Sends `text` from the composer and waits until the server has it. */
export async function send(page: Page, text: string): Promise<void> {
  const composer = page.getByLabel("Message", { exact: true });
  await composer.fill(text);
  await composer.press("Enter");
  await expect(page.locator("li.msg-me").filter({ hasText: text }).last().locator(".state-sent, .state-read")).toHaveCount(1);
}
