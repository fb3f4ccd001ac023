/**
 * Switching conversations without a page load (issue #14). On a desktop the list sits beside the
 * open conversation: a click swaps the conversation pane in place (its URL pushed, its socket the
 * only one open), the list keeps its scroll and marks the open one, live messages go to and come
 * from the conversation on screen only, and back and forward switch again. On a phone the list is
 * its own page and the conversation's back link returns to it at the same scroll.
 */
import { expect, test, type Page } from "@playwright/test";
import { openChat, type ChatClient } from "../src/test/chat-client.js";
import { signedUpUser, startConversation } from "../src/test/factories.js";
import { auditBothThemes } from "./support/axe.js";
import { live, send, twoInARoom } from "./support/rooms.js";

/** Enough conversations for the list to scroll at either width. */
const OTHERS = 12;

/** Counts the page's chat sockets still open (or opening): the test's own hook on WebSocket. */
async function countChatSockets(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { __sockets: WebSocket[] }).__sockets.filter(
        (s) => s.url.includes("/ws/chat/") && s.readyState <= WebSocket.OPEN,
      ).length,
  );
}

/**
 * A real click in the middle of the row, where it is on screen (no scrolling to it first). Measured
 * again if the row was replaced between finding and measuring it (a change in the list redraws it).
 */
async function clickRow(page: Page, name: string): Promise<void> {
  const row = page.locator("a.conversation", { hasText: name }).first();
  await expect(async () => {
    const box = await row.boundingBox();
    if (!box) throw new Error(`no row for ${name} on screen`);
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  }).toPass({ timeout: 10_000 });
}

async function othersWith(email: string, project: string) {
  return Promise.all(
    Array.from({ length: OTHERS }, async (_, i) => {
      const label = `switch${String(i + 1).padStart(2, "0")}-${project}`;
      const user = await signedUpUser(label);
      return { ...user, name: `${label} tester`, roomId: await startConversation(user.browser, email) };
    }),
  );
}

test("switching conversations beside the list: one socket, the list's scroll and selection kept, live messages in the right pane, back and forward @responsive", async ({
  browser,
}, info) => {
  test.setTimeout(120_000);
  const { alice, bob, aliceEmail, roomUrl, close } = await twoInARoom(browser, info, ["Alice Switch", "Bob Switch"]);
  const others = await othersWith(aliceEmail, info.project.name);
  const sockets: ChatClient[] = [];
  try {
    if (info.project.name === "phone") {
      // One pane at a time: the list is a page; back from a conversation finds it where it was left.
      // Every row the page came with is stamped; the list's catch-up fetch on connecting brings the
      // same list, so no row is replaced under the reader's finger.
      await alice.addInitScript(() =>
        document.addEventListener("DOMContentLoaded", () => {
          for (const row of document.querySelectorAll("a.conversation"))
            (row as unknown as { __served: boolean }).__served = true;
        }),
      );
      await alice.goto("/chat");
      await expect(alice.locator("a.conversation")).toHaveCount(OTHERS + 1);
      await expect(alice.locator("#conversations")).toHaveAttribute("data-synced", "true");
      const kept = await alice.evaluate(
        () =>
          [...document.querySelectorAll("a.conversation")].filter((row) => (row as unknown as { __served?: boolean }).__served)
            .length,
      );
      expect(kept, "rows kept through the catch-up fetch").toBe(OTHERS + 1);
      await alice.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const scrolled = await alice.evaluate(() => window.scrollY);
      expect(scrolled).toBeGreaterThan(100);
      const last = (await alice.locator("a.conversation .conversation-name").last().textContent()) ?? "";
      await clickRow(alice, last.trim());
      await live(alice);
      await alice.getByRole("link", { name: "All chats" }).click();
      await expect(alice).toHaveURL(/\/chat$/);
      await expect.poll(() => alice.evaluate(() => window.scrollY)).toBe(scrolled);
      await alice.screenshot({ path: info.outputPath("list-after-back-phone.png") });
      return;
    }

    const violations: string[] = [];
    const errors: string[] = [];
    alice.on("pageerror", (err) => errors.push(err.message));
    // The test's hook: every WebSocket the page makes is kept, to count the open ones.
    await alice.addInitScript(() => {
      const Native = window.WebSocket;
      const made: WebSocket[] = [];
      (window as unknown as { __sockets: WebSocket[] }).__sockets = made;
      window.WebSocket = class extends Native {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          made.push(this);
        }
      };
    });
    await alice.goto(roomUrl);
    await live(alice);
    const side = alice.getByRole("navigation", { name: "Chats" });
    await expect(side.locator("a.conversation")).toHaveCount(OTHERS + 1);
    const scroller = alice.locator("#shell-list");
    await scroller.evaluate((el) => (el.scrollTop = el.scrollHeight));
    const scrolled = await scroller.evaluate((el) => el.scrollTop);
    expect(scrolled).toBeGreaterThan(50);
    // The two lowest of the others' rows: on screen after scrolling, and they do not move while nothing is sent.
    const names = await side.locator("a.conversation .conversation-name").allTextContents();
    const bottom = names.map((n) => others.find((o) => o.name === n.trim())).filter((o) => o !== undefined);
    const [x, y] = bottom.slice(-2);
    if (!x || !y) throw new Error(`the bottom rows are not the others' conversations: ${names.join(", ")}`);
    const heading = alice.getByRole("heading", { level: 1 });
    const open = async (who: typeof x) => {
      await expect(alice).toHaveURL(new RegExp(`/chat/${who.roomId}$`));
      await expect(heading).toContainText(who.name);
      await expect(side.locator('[aria-current="page"]')).toContainText(who.name);
      await live(alice);
      await expect.poll(() => countChatSockets(alice)).toBe(1);
      expect(await scroller.evaluate((el) => el.scrollTop)).toBe(scrolled);
    };
    // Bob's list beside his conversation with Alice: her dot, recorded at every change from now on.
    const roomId = new URL(roomUrl).pathname.split("/").pop() ?? "";
    const aliceDot = bob.locator(`a.conversation[data-room="${roomId}"] .avatar-wrap`);
    await expect(aliceDot).toHaveAttribute("data-presence", "online");
    await bob.evaluate((room) => {
      const seen: string[] = [];
      (window as unknown as { __aliceSeen: string[] }).__aliceSeen = seen;
      const region = document.getElementById("conversations");
      if (!region) throw new Error("no list");
      new MutationObserver(() => {
        const now = region.querySelector<HTMLElement>(`a[data-room="${room}"] .avatar-wrap`)?.dataset.presence ?? "";
        if (now !== seen.at(-1)) seen.push(now);
      }).observe(region, { subtree: true, childList: true, attributes: true });
    }, roomId);
    // How long a switch takes, from the click (or Enter) to the new conversation being live.
    await alice.evaluate(() => {
      const took: number[] = [];
      (window as unknown as { __switches: number[] }).__switches = took;
      let began: number | undefined;
      const begin = () => (began = performance.now());
      document.addEventListener("click", begin, true);
      document.addEventListener("keydown", (event) => event.key === "Enter" && begin(), true);
      new MutationObserver(() => {
        if (began === undefined || document.getElementById("chat")?.dataset.state !== "live") return;
        took.push(Math.round(performance.now() - began));
        began = undefined;
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
    });
    const loads = await alice.evaluate(() => performance.getEntriesByType("navigation").length);
    const origin = await alice.evaluate(() => performance.timeOrigin);
    for (const who of [x, y, x]) {
      await clickRow(alice, who.name);
      await open(who);
    }
    // By keyboard: Enter on a row switches too; the focus stays on the row, the switch is announced.
    const yRow = side.locator("a.conversation", { hasText: y.name });
    await yRow.focus();
    await alice.keyboard.press("Enter");
    await open(y);
    await expect(yRow).toBeFocused();
    await expect(alice.getByRole("status").filter({ hasText: "Opened the conversation with" })).toHaveText(
      `Opened the conversation with ${y.name}.`,
    );
    expect(await alice.evaluate(() => performance.timeOrigin), "no page load").toBe(origin);
    expect(await alice.evaluate(() => performance.getEntriesByType("navigation").length)).toBe(loads);
    const took = await alice.evaluate(() => (window as unknown as { __switches: number[] }).__switches);
    console.log(`[switch] click to live, ms: ${took.join(", ")}`);
    violations.push(...(await auditBothThemes(alice, "switched")));
    // Alice never went offline to Bob between two conversations (the old socket waits for the new one).
    expect(await bob.evaluate(() => (window as unknown as { __aliceSeen: string[] }).__aliceSeen)).not.toContain("offline");

    // Live in the conversation now open (Y's): its messages arrive, Alice's go to it and to nobody else.
    const [atX, atY] = [await openChat(x.browser, x.roomId), await openChat(y.browser, y.roomId)];
    sockets.push(atX, atY);
    await Promise.all([atX.next("ready"), atY.next("ready")]);
    atY.send({ type: "send", clientId: crypto.randomUUID(), text: "hello from Y" });
    await expect(alice.locator("li.msg-them")).toContainText(["hello from Y"]);
    await send(alice, "hi Y");
    await atY.next("message", (m) => m.text === "hi Y");
    // X writes while Y's conversation is open: X's row says so, Y's pane does not show it.
    atX.send({ type: "send", clientId: crypto.randomUUID(), text: "meanwhile from X" });
    await expect(side.locator("a.conversation", { hasText: x.name })).toContainText("meanwhile from X");
    await expect(alice.locator("#message-list")).not.toContainText("meanwhile from X");

    // Back: X's conversation, with X's message in it; forward: Y's again.
    await alice.goBack();
    await open(x);
    await expect(alice.locator("li.msg-them")).toContainText(["meanwhile from X"]);
    await expect(alice.locator("#message-list")).not.toContainText("hello from Y");
    await send(alice, "hi X");
    await atX.next("message", (m) => m.text === "hi X");
    expect(
      atY.frames.some((f) => f.type === "message" && f.text === "hi X"),
      "sent to X only",
    ).toBe(false);
    await alice.goForward();
    await open(y);
    await expect(alice.locator("li.msg-me")).toContainText(["hi Y"]);
    await expect(alice.locator("#message-list")).not.toContainText("hi X");
    expect(await alice.evaluate(() => performance.timeOrigin), "no page load").toBe(origin);
    expect(violations).toEqual([]);
    expect(errors, "no script errors").toEqual([]);
  } finally {
    for (const s of sockets) s.ws.terminate();
    await close();
  }
});
