/**
 * axe-core on every page, in light and dark, at desktop and phone widths (the phone project runs
 * this too): no critical or serious violation anywhere. The counts per page are printed, and a
 * screenshot of each screen lands in test-results/e2e/ to be looked at.
 */
import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { signUpInBrowser } from "./support/accounts.js";
import { contextFor, live, openChatWith, send } from "./support/rooms.js";

type Counts = Record<"critical" | "serious" | "moderate" | "minor", number>;

async function audit(page: Page, name: string, scheme: "light" | "dark", project: string): Promise<string[]> {
  await page.emulateMedia({ colorScheme: scheme });
  // Colours are checked at rest: right after the scheme switch, buttons are mid-transition (light
  // text on the dark theme's light accent read 3.35:1 once, on the phone's open message menu).
  await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
    .analyze();
  const counts: Counts = { critical: 0, serious: 0, moderate: 0, minor: 0 };
  for (const violation of results.violations) counts[violation.impact ?? "minor"] += violation.nodes.length;
  console.log(
    `[axe] ${project.padEnd(7)} ${scheme.padEnd(5)} ${name.padEnd(16)} critical ${counts.critical}, serious ${counts.serious}, moderate ${counts.moderate}, minor ${counts.minor}`,
  );
  await page.screenshot({ path: test.info().outputPath(`${name}-${scheme}.png`), fullPage: true });
  return results.violations
    .filter((v) => v.impact === "critical" || v.impact === "serious")
    .map((v) => `${name} (${scheme}): ${v.id} — ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("axe-core finds no critical or serious violation on any page, light or dark @responsive", async ({ browser }, info) => {
  test.setTimeout(360_000);
  const found: string[] = [];
  const check = async (page: Page, name: string) => {
    for (const scheme of ["light", "dark"] as const) found.push(...(await audit(page, name, scheme, info.project.name)));
  };

  const visitorContext = await browser.newContext(contextFor(info));
  const visitor = await visitorContext.newPage();
  for (const [name, path] of [
    ["landing", "/"],
    ["signin", "/signin"],
    ["signup", "/signup"],
    ["forgot", "/forgot"],
    ["reset-invalid", "/reset?token=nothing-here"],
    ["not-found", "/no-such-page"],
  ] as const) {
    await visitor.goto(path);
    await check(visitor, name);
  }
  await visitorContext.close();

  const aliceContext = await browser.newContext(contextFor(info));
  const bobContext = await browser.newContext(contextFor(info));
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  const [, bobEmail] = await Promise.all([signUpInBrowser(alice, "Alice Axe"), signUpInBrowser(bob, "Bob Axe")]);
  await alice.goto("/chat");
  await check(alice, "chats-empty");
  const roomUrl = await openChatWith(alice, bobEmail);
  await live(alice);
  await check(alice, "room-empty");
  await send(alice, "Hi Bob! Dinner at 8? https://example.com/menu");
  await send(alice, "I'll bring the dessert.");
  await bob.goto(roomUrl);
  await live(bob);
  await send(bob, "Sounds good, see you there");
  await expect(alice.locator("li.msg-me .state-read")).toHaveCount(2);
  await check(alice, "room");
  await alice.locator("li.msg-me").last().focus();
  await alice.keyboard.press("Enter");
  await expect(alice.getByRole("menu")).toBeVisible();
  await check(alice, "room-menu");
  await alice.keyboard.press("Escape");
  await send(bob, "One more thing");
  await alice.goto("/chat");
  await expect(alice.locator("#conversations")).toHaveAttribute("data-live", "true");
  await check(alice, "chats");
  await alice.goto("/profile");
  await check(alice, "profile");
  await alice.goto(roomUrl);
  await alice.getByRole("heading", { level: 1 }).getByRole("link").click();
  await expect(alice).toHaveURL(/\/people\//);
  await check(alice, "person");
  await aliceContext.close();
  await bobContext.close();

  expect(found, "critical and serious violations").toEqual([]);
});
