/**
 * Replies, reactions, the emoji picker and copy, as two people use them (issue #14): Alice
 * replies by keyboard, Bob sees the quote live and goes to a quoted message 60 messages back
 * (paged in by number), Bob reacts through the picker by keyboard and Alice sees it live, Alice
 * inserts an emoji from the composer's picker and copies a message. Screenshots in light and dark,
 * and axe-core over the page with a quote, reactions, the reply bar and the picker showing.
 */
import { randomUUID } from "node:crypto";
import { AxeBuilder } from "@axe-core/playwright";
import { expect, test, type Page } from "@playwright/test";
import { RoomModel } from "../src/chat/room.model.js";
import { roomKeyCache } from "../src/chat/rooms.js";
import { parseMasterKeys } from "../src/master-keys.js";
import { connectServices, messageStore, stack } from "../src/test/support.js";
import { live, send, twoInARoom } from "./support/rooms.js";

const FILLERS = 60;

async function audit(page: Page, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const scheme of ["light", "dark"] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForFunction(() => document.getAnimations().every((a) => a.playState !== "running"));
    await page.getByRole("log").evaluate((log) => (log.scrollTop = log.scrollHeight));
    await page.screenshot({ path: test.info().outputPath(`${name}-${scheme}.png`) });
    const results = await new AxeBuilder({ page })
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"])
      .analyze();
    const bad = results.violations.filter((v) => v.impact === "critical" || v.impact === "serious");
    console.log(`[axe] ${test.info().project.name} ${scheme} ${name}: critical/serious ${bad.length}`);
    found.push(...bad.map((v) => `${name} (${scheme}): ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`));
  }
  await page.emulateMedia({ colorScheme: null });
  return found;
}

/** Focuses the message with `text` by keyboard from the list and opens its menu. */
async function openMenuOf(page: Page, text: string): Promise<void> {
  const log = page.getByRole("log");
  await log.focus();
  // By the message's own text: a reply's quote holds the original's text too.
  const target = page
    .locator("li.msg")
    .filter({ has: page.locator("p.text", { hasText: text }) })
    .last();
  for (let i = 0; i < 10 && !(await target.evaluate((li) => li === document.activeElement)); i++)
    await page.keyboard.press("ArrowUp");
  await expect(target).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("menu", { name: "Message actions" })).toBeVisible();
}

async function choose(page: Page, item: string): Promise<void> {
  const menu = page.getByRole("menu", { name: "Message actions" });
  const wanted = menu.getByRole("menuitem", { name: item, exact: true });
  for (let i = 0; i < 8 && !(await wanted.evaluate((b) => b === document.activeElement)); i++)
    await page.keyboard.press("ArrowDown");
  await expect(wanted).toBeFocused();
  await page.keyboard.press("Enter");
}

test("reply by keyboard with a quote that jumps back through history, react live through the picker, insert an emoji, copy @responsive", async ({
  browser,
}, info) => {
  test.setTimeout(150_000);
  const { alice, bob, aliceContext, roomUrl, close } = await twoInARoom(browser, info, ["Alice Reply", "Bob Reply"]);
  await aliceContext.grantPermissions(["clipboard-read", "clipboard-write"]);
  const roomId = roomUrl.split("/").pop() ?? "";
  const { me, peer } = await alice.locator("#chat").evaluate((el) => ({ me: el.dataset.me ?? "", peer: el.dataset.peer ?? "" }));

  // An old question from Bob, 60 messages of chatter, then Bob's reply to his own question: stored
  // through the app's message store (as the socket would), so the question is off the first page.
  const services = await connectServices();
  try {
    const store = messageStore(services.redis, roomKeyCache(parseMasterKeys(stack.MASTER_KEYS)).keyFor);
    const question = await store.store({
      roomId,
      senderId: peer,
      clientId: randomUUID(),
      text: "Where is the picnic on Sunday?",
    });
    // One batch: the store numbers a batch in the order its sends were made.
    await Promise.all(
      Array.from({ length: FILLERS }, (_, i) =>
        store.store({ roomId, senderId: i % 2 ? peer : me, clientId: randomUUID(), text: `chatter ${i + 1}` }),
      ),
    );
    const last = await store.store({
      roomId,
      senderId: peer,
      clientId: randomUUID(),
      text: "Answering myself: by the lake",
      replyTo: question.seq,
    });
    await store.drain();
    // Alice has read them all (as if on another device): the page opens at the newest, not at a
    // "new messages" marker 62 messages up, which would page the question in by itself.
    await RoomModel.updateOne({ _id: roomId }, { $set: { [`readUpTo.${me}`]: last.seq } });
  } finally {
    await services.close();
  }
  await alice.goto(roomUrl);
  await bob.goto(roomUrl);
  await live(alice);
  await live(bob);

  // Alice replies to "chatter 60" by keyboard; Escape first cancels a reply, the second one goes.
  await openMenuOf(alice, "chatter 60");
  await choose(alice, "Reply");
  const bar = alice.locator("#reply-bar");
  await expect(bar).toBeVisible();
  await expect(bar).toContainText("Replying to");
  await expect(bar).toContainText("chatter 60");
  await expect(alice.getByLabel("Message", { exact: true })).toBeFocused();
  await alice.keyboard.press("Escape");
  await expect(bar).toBeHidden();
  await openMenuOf(alice, "chatter 60");
  await choose(alice, "Reply");
  await expect(bar).toContainText("chatter 60");
  await send(alice, "Count me in");
  await expect(bar).toBeHidden();
  const aliceReply = alice.locator("li.msg-me").filter({ hasText: "Count me in" });
  await expect(aliceReply.locator(".quote")).toContainText("chatter 60");
  const atBob = bob.locator("li.msg-them").filter({ hasText: "Count me in" });
  await expect(atBob.locator(".quote")).toContainText("You");
  await expect(atBob.locator(".quote")).toContainText("chatter 60");

  // The seeded reply quotes a message that is not on the first page: tapping the quote pages it in.
  const question = (page: Page) =>
    page.locator("li.msg").filter({ has: page.locator("p.text", { hasText: "Where is the picnic" }) });
  expect(await question(alice).count()).toBe(0);
  const seeded = alice.locator("li.msg").filter({ hasText: "Answering myself" });
  await expect(seeded.locator(".quote")).toContainText("Where is the picnic on Sunday?");
  await seeded.getByRole("button", { name: /^Reply to Bob Reply.*Where is the picnic.*Go to that message/ }).click();
  const original = question(alice);
  await expect(original).toBeFocused();
  await expect(original).toBeInViewport();
  await alice.getByRole("button", { name: /Jump to the newest messages/ }).click();
  await expect(aliceReply).toBeVisible();
  // And by keyboard, on Bob's side: the menu of the reply goes to the quoted message.
  await openMenuOf(bob, "Answering myself");
  await choose(bob, "Go to replied message");
  await expect(question(bob)).toBeFocused();

  // Bob reacts to Alice's reply through the picker, by keyboard; Alice sees it live, then adds hers.
  await bob.getByRole("button", { name: /Jump to the newest messages/ }).click();
  await openMenuOf(bob, "Count me in");
  await choose(bob, "React…");
  const picker = bob.getByRole("listbox", { name: "Add a reaction" });
  await expect(picker).toBeVisible();
  await expect(picker.getByRole("option", { name: "thumbs up" })).toBeFocused();
  await bob.keyboard.press("ArrowRight");
  await expect(picker.getByRole("option", { name: "red heart" })).toBeFocused();
  await bob.keyboard.press("Enter");
  await expect(picker).toBeHidden();
  await expect(bob.getByRole("button", { name: "❤️ 1, you reacted" })).toBeVisible();
  const aliceChip = aliceReply.getByRole("button", { name: "❤️ 1", exact: true });
  await expect(aliceChip).toBeVisible();
  await aliceChip.click();
  await expect(aliceReply.getByRole("button", { name: "❤️ 2, you reacted" })).toBeVisible();
  await expect(atBob.getByRole("button", { name: "❤️ 2, you reacted" })).toBeVisible();

  // The composer's picker, by keyboard: Escape closes it back onto its button; a pick is inserted.
  const composer = alice.getByLabel("Message", { exact: true });
  await composer.fill("Bring cake ");
  await composer.press("Tab");
  const emojiButton = alice.getByRole("button", { name: "Insert an emoji" });
  await expect(emojiButton).toBeFocused();
  await alice.keyboard.press("Enter");
  const composerPicker = alice.getByRole("listbox", { name: "Insert an emoji" });
  await expect(composerPicker).toBeVisible();
  await alice.keyboard.press("Escape");
  await expect(composerPicker).toBeHidden();
  await expect(emojiButton).toBeFocused();
  await alice.keyboard.press("Enter");
  await alice.keyboard.press("ArrowDown");
  await expect(composerPicker.getByRole("option", { name: "clapping hands" })).toBeFocused();
  for (let i = 0; i < 3; i++) await alice.keyboard.press("ArrowRight");
  await expect(composerPicker.getByRole("option", { name: "thinking face" })).toBeFocused();
  await alice.keyboard.press("Enter");
  await expect(composer).toHaveValue("Bring cake 🤔");
  await expect(composer).toBeFocused();

  // Copy from the menu puts the message's text on the clipboard.
  await openMenuOf(alice, "Count me in");
  await choose(alice, "Copy text");
  await expect.poll(() => alice.evaluate(() => navigator.clipboard.readText())).toBe("Count me in");

  // Looked at, and checked, with a quote, reactions, the reply bar and a picker on screen.
  await openMenuOf(alice, "Count me in");
  await choose(alice, "Reply");
  await alice.getByRole("button", { name: "Insert an emoji" }).click();
  const violations = await audit(alice, "reply-reactions-picker");
  await alice.keyboard.press("Escape");
  await openMenuOf(bob, "Count me in");
  await choose(bob, "React…");
  violations.push(...(await audit(bob, "reaction-picker")));
  expect(violations).toEqual([]);
  await close();
});

test("a quote follows its original live: edited, then deleted, on both sides", async ({ browser }, info) => {
  const { alice, bob, close } = await twoInARoom(browser, info, ["Alice Quote", "Bob Quote"]);
  await send(bob, "Picnic at noon");
  await openMenuOf(alice, "Picnic at noon");
  await choose(alice, "Reply");
  await send(alice, "Count me in");
  const quoteAt = (page: Page) => page.locator("li.msg").filter({ hasText: "Count me in" }).locator(".quote");
  await expect(quoteAt(alice)).toContainText("Picnic at noon");
  await expect(quoteAt(bob)).toContainText("Picnic at noon");

  // Bob edits his message: the quote in Alice's reply says what it says now, on both pages.
  await openMenuOf(bob, "Picnic at noon");
  await choose(bob, "Edit");
  const editBox = bob.getByLabel("Edit message");
  await editBox.fill("Picnic at one");
  await editBox.press("Enter");
  await expect(quoteAt(alice)).toContainText("Picnic at one");
  await expect(quoteAt(bob)).toContainText("Picnic at one");
  await expect(quoteAt(alice)).toHaveAttribute("aria-label", /Picnic at one/);

  // Then deletes it: the quote says so.
  await openMenuOf(bob, "Picnic at one");
  await choose(bob, "Delete");
  await bob.getByRole("dialog", { name: "Delete this message?" }).getByRole("button", { name: "Delete" }).click();
  await expect(quoteAt(alice)).toContainText("Deleted message");
  await expect(quoteAt(bob)).toContainText("Deleted message");
  await close();
});

test("a message's open menu stays open, focus kept, when the message changes under it (a reaction arrives)", async ({
  browser,
}, info) => {
  const { alice, bob, close } = await twoInARoom(browser, info, ["Alice Menu", "Bob Menu"]);
  await send(alice, "Lunch at the lake?");
  const atAlice = alice.locator("li.msg").filter({ has: alice.locator("p.text", { hasText: "Lunch at the lake?" }) });
  await expect(bob.locator("li.msg-them").filter({ hasText: "Lunch at the lake?" })).toBeVisible();

  // Alice opens her message's menu and moves to Delete; Bob reacts meanwhile.
  await openMenuOf(alice, "Lunch at the lake?");
  const menu = alice.getByRole("menu", { name: "Message actions" });
  const deleteItem = menu.getByRole("menuitem", { name: "Delete", exact: true });
  for (let i = 0; i < 8 && !(await deleteItem.evaluate((b) => b === document.activeElement)); i++)
    await alice.keyboard.press("ArrowDown");
  await expect(deleteItem).toBeFocused();
  await openMenuOf(bob, "Lunch at the lake?");
  await choose(bob, "React…");
  await bob.keyboard.press("Enter");
  await expect(atAlice.getByRole("button", { name: "👍 1", exact: true })).toBeVisible();

  // The message was drawn again with the reaction: the menu is still there, on it, where she was.
  await expect(atAlice.getByRole("menu", { name: "Message actions" })).toBeVisible();
  await expect(deleteItem).toBeFocused();
  await expect(atAlice.getByRole("button", { name: "Message actions" })).toHaveAttribute("aria-expanded", "true");
  await alice.keyboard.press("Enter");
  await expect(alice.getByRole("dialog", { name: "Delete this message?" })).toBeVisible();
  await close();
});
