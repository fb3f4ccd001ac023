/**
 * Issue #17, steps 2 and 3 on the compose stack: a conversation whose two people are held by
 * different app replicas (Redis carries it across), and one replica restarted in the middle
 * of it: the client reconnects through nginx to the other one, and no message is lost.
 * Which replica holds a socket is read from the app's log ("websocket accepted").
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, test, type Page } from "@playwright/test";
import { signUpInBrowser } from "../support/accounts.js";
import { appReplicas, containers, LOCAL, logOf } from "./support/compose.js";
import { hostNetworkSettled } from "./support/network.js";
import { navigate, reload } from "./support/page.js";

const run = promisify(execFile);

type SocketCounts = Map<string, number>;

async function acceptedSockets(): Promise<SocketCounts> {
  const counts: SocketCounts = new Map();
  for (const replica of await appReplicas()) {
    const log = await logOf(replica);
    // Chat sockets only: the page also opens the conversation list's socket (/ws/inbox), which
    // nginx may send to the other replica.
    const chat = (line: string) => line.includes('"msg":"websocket accepted"') && line.includes('"path":"/ws/chat/');
    counts.set(replica, log.split("\n").filter(chat).length);
  }
  return counts;
}

/** Does `action` (which opens one chat socket) and returns the replica that accepted it. */
async function replicaAccepting(page: Page, action: () => Promise<unknown>): Promise<string> {
  const before = await acceptedSockets();
  await action();
  await expect(page.locator('[data-state="live"]')).toBeVisible();
  let holder = "";
  await expect
    .poll(async () => {
      const now = await acceptedSockets();
      const grown = [...now].filter(([replica, count]) => count > (before.get(replica) ?? 0));
      holder = grown.length === 1 ? (grown[0]?.[0] ?? "") : "";
      return grown.length;
    })
    .toBe(1);
  return holder;
}

async function send(page: Page, text: string) {
  const composer = page.getByLabel("Message", { exact: true });
  await composer.fill(text);
  await composer.press("Enter");
}

test("Alice and Bob talk from different replicas, and a replica restarted mid-conversation loses no message", async ({
  browser,
}) => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  await signUpInBrowser(alice, "Alice Docker");
  const bobEmail = await signUpInBrowser(bob, "Bob Docker");

  await alice.goto("/chat");
  await alice.getByLabel("Their email").fill(bobEmail);
  const aliceReplica = await replicaAccepting(alice, () => alice.getByRole("button", { name: "Open chat" }).click());
  const room = alice.url();

  // nginx spreads new connections over the replicas; Bob opens the room until he is on the other one.
  let bobReplica = aliceReplica;
  for (let attempt = 0; attempt < 8 && bobReplica === aliceReplica; attempt++) {
    bobReplica = await replicaAccepting(bob, () => navigate(() => bob.goto(room)));
  }
  expect(bobReplica, "Bob's socket is on the other replica").not.toBe(aliceReplica);

  await send(alice, "Hello from one replica");
  await expect(bob.locator("li.msg-them").last()).toContainText("Hello from one replica");
  await send(bob, "Hello from the other");
  await expect(alice.locator("li.msg-them").last()).toContainText("Hello from the other");

  // Alice's replica restarts (SIGTERM, then a new start) while she keeps typing.
  const restart = run("docker", ["restart", "--time", "10", aliceReplica]);
  const typed = Array.from({ length: 6 }, (_, i) => `During the restart ${i + 1}`);
  for (const text of typed) await send(alice, text);
  await restart;
  // Its new interface on the host must not fail the requests below (./support/network.ts).
  await hostNetworkSettled();

  // Her page resumes on a replica and every message she typed is acknowledged, once, in order.
  await expect(alice.locator('[data-state="live"]')).toBeVisible({ timeout: 30_000 });
  const mine = alice.locator("li.msg-me");
  await expect(mine).toHaveCount(1 + typed.length, { timeout: 30_000 });
  for (let i = 0; i < typed.length; i++) {
    await expect(mine.nth(1 + i)).toContainText(typed[i] ?? "");
    await expect(mine.nth(1 + i).locator(".state")).toContainText(/Sent|Read/, { timeout: 30_000 });
  }
  // Bob, on the replica that stayed up, got all of them, and so does his history after a reload.
  const theirs = bob.locator("li.msg-them");
  await expect(theirs).toHaveText(["Hello from one replica", ...typed].map((t) => new RegExp(t)));
  await reload(bob);
  await expect(bob.locator("li.msg-them")).toHaveText(["Hello from one replica", ...typed].map((t) => new RegExp(t)));

  // The client still talks both ways, and the restarted replica is healthy again.
  await send(bob, "Still here");
  await expect(alice.locator("li.msg-them").last()).toContainText("Still here");
  await expect
    .poll(async () => (await containers(LOCAL)).find((c) => c.Name === aliceReplica)?.Health, { timeout: 60_000 })
    .toBe("healthy");

  await alice.context().close();
  await bob.context().close();
});
