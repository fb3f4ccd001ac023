/**
 * A 10,000-message room: it opens at the newest page, pages back to the very first message on
 * scroll with no more than 300 messages in the DOM at any time, and jumps back to the newest.
 * The messages are stored through the app's own message store (real Redis numbering, real
 * encrypted MongoDB writes): sending 10,000 through the socket would take half an hour at the
 * send limit. The times are printed for the README, not asserted (they depend on the machine).
 */
import { randomUUID } from "node:crypto";
import { expect, test } from "@playwright/test";
import { MessageModel } from "../src/chat/message.model.js";
import { roomKeyCache } from "../src/chat/rooms.js";
import { parseMasterKeys } from "../src/master-keys.js";
import { connectServices, messageStore, stack } from "../src/test/support.js";
import { twoInARoom } from "./support/rooms.js";

const COUNT = 10_000;
const MAX_RENDERED = 300;
let seededRoom: string | undefined;

test("a 10,000-message room opens at the newest page, scrolls back and forth with a bounded DOM, and jumps back", async ({
  browser,
}, info) => {
  test.setTimeout(600_000);
  const { alice, roomUrl, close } = await twoInARoom(browser, info, ["Alice History", "Bob History"]);
  const roomId = roomUrl.split("/").pop() ?? "";
  seededRoom = roomId;
  const { me, peer } = await alice.locator("#chat").evaluate((el) => ({ me: el.dataset.me ?? "", peer: el.dataset.peer ?? "" }));

  const services = await connectServices();
  try {
    const store = messageStore(services.redis, roomKeyCache(parseMasterKeys(stack.MASTER_KEYS)).keyFor);
    const started = Date.now();
    for (let i = 0; i < COUNT; i += 1000)
      await Promise.all(
        Array.from({ length: Math.min(1000, COUNT - i) }, (_, j) =>
          store.store({
            roomId,
            senderId: (i + j) % 3 ? peer : me,
            clientId: randomUUID(),
            text: `message ${i + j + 1}${(i + j) % 7 === 0 ? " — a longer one, to give the list some lines of different heights" : ""}`,
          }),
        ),
      );
    await store.drain();
    console.log(`[history] stored ${COUNT} messages in ${Date.now() - started} ms`);
  } finally {
    await services.close();
  }

  const opening = Date.now();
  await alice.goto(roomUrl);
  // Timed, not asserted against a clock: the database may still be busy with the 10,000 writes.
  await expect(alice.locator("li.msg").last()).toContainText(`message ${COUNT}`, { timeout: 30_000 });
  const opened = Date.now() - opening;
  await expect(alice.locator("#chat")).toHaveAttribute("data-state", "live");
  console.log(`[history] opened at the newest message in ${opened} ms (navigation to last bubble drawn)`);
  expect(await alice.locator("li.msg").count()).toBeLessThanOrEqual(50);

  // Scroll to the top again and again: 600 messages back (12 pages), then down again a few
  // pages. The DOM stays bounded both ways. (On the native stack's FerretDB every page is a scan
  // of the whole messages collection, so going through all 10,000 would time the stand-in.)
  const log = alice.getByRole("log");
  const seqOf = async (which: "first" | "last") => Number(await alice.locator("li.msg")[which]().getAttribute("data-seq"));
  let most = 0;
  const pages = 12;
  const scrolling = Date.now();
  for (let page = 0; page < pages; page++) {
    const oldest = await seqOf("first");
    await log.evaluate((el) => (el.scrollTop = 0));
    // Generous: each page is a scan of the whole collection on FerretDB, seconds under load.
    await expect.poll(() => seqOf("first"), { timeout: 60_000 }).toBeLessThan(oldest);
    most = Math.max(most, await alice.locator("li.msg").count());
  }
  const scrolled = Date.now() - scrolling;
  console.log(
    `[history] scrolled back ${pages} pages in ${scrolled} ms, ${Math.round(scrolled / pages)} ms a page; at most ${most} messages in the DOM`,
  );
  // The browser's own share of a page: placing 50 messages, trimming, keeping the view (chat.ts).
  const render = await alice.evaluate(() => performance.getEntriesByName("duet:page").map((e) => e.duration));
  console.log(
    `[history] in the browser a page took ${(render.reduce((a, b) => a + b, 0) / render.length).toFixed(1)} ms on average, ${Math.max(...render).toFixed(1)} ms at most (the rest is the history request)`,
  );
  expect(await seqOf("first")).toBeLessThanOrEqual(COUNT - 600);
  expect(most).toBeLessThanOrEqual(MAX_RENDERED);
  expect(await seqOf("last"), "the newest were dropped from the DOM").toBeLessThan(COUNT);
  await alice.screenshot({ path: info.outputPath("history-far-back.png") });
  for (let page = 0; page < 3; page++) {
    const newest = await seqOf("last");
    await log.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(() => seqOf("last"), { timeout: 60_000 }).toBeGreaterThan(newest);
    expect(await alice.locator("li.msg").count()).toBeLessThanOrEqual(MAX_RENDERED);
  }
  // Every number between the first and last on screen is there once, in order.
  const seqs = await alice.locator("li.msg").evaluateAll((lis) => lis.map((li) => Number((li as HTMLElement).dataset.seq)));
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 0) + i));

  // Far from the newest: the jump button brings the newest page back.
  const jump = alice.getByRole("button", { name: /Jump to the newest messages/ });
  await expect(jump).toBeVisible();
  await jump.click();
  await expect(alice.locator("li.msg").last()).toContainText(`message ${COUNT}`, { timeout: 60_000 });
  expect(await alice.locator("li.msg").count()).toBeLessThanOrEqual(MAX_RENDERED);
  await close();
});

// On the native stack's FerretDB every history query scans the whole messages collection: the
// 10,000 are removed again so they do not slow every test after this one.
test.afterAll(async () => {
  if (!seededRoom) return;
  const services = await connectServices();
  try {
    await MessageModel.deleteMany({ roomId: seededRoom });
  } finally {
    await services.close();
  }
});
