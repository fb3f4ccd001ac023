/**
 * Issue #14's finding and sorting tools, two people in two browsers: sign-up lands on "start a
 * conversation", an empty conversation says how to begin, the list's presence dot follows the
 * other person live, "new messages" marks what arrived while away, new messages are read out
 * (history is not), search finds a message far back and jumps to it, the list filters by name,
 * and archive / unarchive. axe-core and screenshots (light and dark) on the new screens.
 */
import { randomUUID } from "node:crypto";
import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { roomKeyCache } from "../src/chat/rooms.js";
import { parseMasterKeys } from "../src/master-keys.js";
import { connectServices, messageStore, stack } from "../src/test/support.js";
import { signUpInBrowser } from "./support/accounts.js";
import { contextFor, live, openChatWith, send } from "./support/rooms.js";

async function audit(page: Page, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
    const results = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
      .analyze();
    await page.screenshot({ path: test.info().outputPath(`${name}-${scheme}.png`), fullPage: true });
    found.push(
      ...results.violations
        .filter((v) => v.impact === "critical" || v.impact === "serious")
        .map((v) => `${name} (${scheme}): ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    );
  }
  return found;
}

test("search and jump, new-messages marker, presence, list filter and archive, sign-up landing @responsive", async ({
  browser,
}, info) => {
  test.setTimeout(240_000);
  const phone = info.project.name === "phone";
  const violations: string[] = [];
  const aliceContext = await browser.newContext(contextFor(info));
  const bobContext = await browser.newContext(contextFor(info));
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  try {
    // Sign-up ends on starting a conversation (signUpInBrowser checks it lands on /chat?welcome=1).
    const bobName = `Bob Found ${info.project.name}`;
    const [, bobEmail] = await Promise.all([
      signUpInBrowser(alice, `Alice Finder ${info.project.name}`),
      signUpInBrowser(bob, bobName),
    ]);
    await alice.goto("/chat?welcome=1");
    await expect(alice.getByText("Welcome to Duet! Your email is confirmed and you're signed in.")).toBeVisible();
    await expect(alice.getByRole("heading", { name: "Start a conversation" })).toBeVisible();
    await expect(alice.getByLabel("Their email")).toBeVisible();
    violations.push(...(await audit(alice, "signup-landing")));

    const roomUrl = await openChatWith(alice, bobEmail);
    await live(alice);
    await expect(alice.getByText(`To begin, write your first message to ${bobName}`)).toBeVisible();

    // History far back: 120 messages through the app's own store, one of them with the word.
    const roomId = roomUrl.split("/").pop() ?? "";
    const { me, peer } = await alice
      .locator("#chat")
      .evaluate((el) => ({ me: el.dataset.me ?? "", peer: el.dataset.peer ?? "" }));
    const services = await connectServices();
    try {
      const store = messageStore(services.redis, roomKeyCache(parseMasterKeys(stack.MASTER_KEYS)).keyFor);
      const seed = (i: number) =>
        store.store({
          roomId,
          senderId: i % 2 ? me : peer,
          clientId: randomUUID(),
          text: i === 5 ? "where is the Needle? <b>here</b>" : `filler ${i}`,
        });
      await Promise.all(Array.from({ length: 119 }, (_, i) => seed(i)));
      await seed(119);
      await store.drain();
    } finally {
      await services.close();
    }
    await alice.reload();
    await live(alice);
    await expect(alice.locator("li.msg").last()).toContainText("filler 119");

    // Presence on the list, live: Bob away, Bob here, Bob gone.
    await alice.goto("/chat");
    const bobRow = alice.locator(`a.conversation[data-room="${roomId}"]`);
    await expect(bobRow.locator(".avatar-wrap")).toHaveAttribute("data-presence", "offline");
    await expect(bobRow).toContainText("(offline)");
    await bob.goto(roomUrl);
    await live(bob);
    await expect(bobRow.locator(".avatar-wrap")).toHaveAttribute("data-presence", "online");
    await expect(bobRow.locator(".online-dot")).toBeVisible();
    await expect(bobRow).toContainText("(online)");
    for (const text of ["first while away", "second while away", "third while away"]) await send(bob, text);
    await bob.goto("/profile");
    await expect(bobRow.locator(".avatar-wrap")).toHaveAttribute("data-presence", "offline");

    // List filter by name (Escape clears it).
    const filter = alice.getByLabel("Search conversations by name");
    await filter.fill("bob found");
    await expect(bobRow).toBeVisible();
    await filter.fill("nobody by that name");
    await expect(bobRow).toBeHidden();
    await expect(alice.locator("#conversation-filter-status")).toHaveText("No conversation matches that name.");
    await filter.press("Escape");
    await expect(bobRow).toBeVisible();

    // "New messages" above the first of the three, once the conversation opens.
    await bobRow.click();
    await live(alice);
    const marker = alice.locator(".new-marker");
    await expect(marker).toHaveText("3 new messages");
    await expect(alice.locator("li.msg", { has: marker })).toContainText("first while away");

    // A message arriving now is read out; the history on screen was not.
    await bob.goto(roomUrl);
    await live(bob);
    await send(bob, "hello, live");
    const announcer = alice.locator("#announcer");
    await expect(announcer).toContainText(`${bobName}: hello, live`);
    await expect(announcer).not.toContainText("while away");
    await expect(alice.locator("#messages")).toHaveAttribute("aria-live", "off");

    // Search: Ctrl+F (the header's button on a phone), Enter, arrows, Enter jumps, Escape closes.
    if (phone) await alice.getByRole("button", { name: "Search in this conversation" }).click();
    else {
      await alice.getByLabel("Message", { exact: true }).click();
      await alice.keyboard.press("Control+f");
    }
    const box = alice.getByLabel("Search messages");
    await expect(box).toBeFocused();
    await box.fill("NEEDLE");
    await box.press("Enter");
    const hit = alice.locator("button.search-hit");
    await expect(hit).toHaveCount(1);
    await expect(hit.locator("mark")).toHaveText("Needle");
    // Markup in a message is shown as the text it is.
    await expect(hit).toContainText("<b>here</b>");
    await expect(alice.locator("#chat-search-status")).toHaveText("1 message in the whole conversation.");
    violations.push(...(await audit(alice, "search-results")));
    await box.press("ArrowDown");
    await expect(hit).toBeFocused();
    await alice.keyboard.press("Enter");
    const found = alice.locator("li.msg-found");
    await expect(found).toContainText("where is the Needle? <b>here</b>");
    await expect(found).toBeFocused();
    await expect(found).toBeInViewport();
    expect(await alice.locator("li.msg").count()).toBeLessThanOrEqual(300);
    await box.focus();
    await alice.keyboard.press("Escape");
    await expect(alice.locator("#chat-search")).toBeHidden();
    await expect(alice.getByRole("button", { name: "Search in this conversation" })).toBeFocused();

    // Archive from the conversation's menu: it moves under "Archived"; Unarchive brings it back.
    await alice.getByText("More", { exact: true }).click();
    await alice.getByRole("button", { name: "Archive", exact: true }).click();
    await expect(alice).toHaveURL(/\/chat$/);
    const archived = alice.locator("details.archived");
    await expect(archived.locator("summary")).toHaveText("Archived (1)");
    await expect(alice.locator(`#conversations > .conversation-list [data-room="${roomId}"]`)).toHaveCount(0);
    await expect(archived.locator(`a[data-room="${roomId}"]`)).toBeHidden();
    await archived.locator("summary").click();
    await expect(archived.locator(`a[data-room="${roomId}"]`)).toBeVisible();
    violations.push(...(await audit(alice, "list-archived")));
    await archived.locator(`a[data-room="${roomId}"]`).click();
    await alice.getByText("More", { exact: true }).click();
    await alice.getByRole("button", { name: "Unarchive", exact: true }).click();
    await expect(alice).toHaveURL(roomUrl);
    await alice.goto("/chat");
    await expect(alice.locator("details.archived")).toHaveCount(0);
    await expect(alice.locator(`a.conversation[data-room="${roomId}"]`)).toBeVisible();

    expect(violations).toEqual([]);
  } finally {
    await Promise.all([aliceContext.close(), bobContext.close()]);
  }
});
