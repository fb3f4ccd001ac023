/**
 * The people of a run: signed up through the pages, paired in rooms, each with a tab open and
 * typing; and what their tabs have heard, for deciding that a fault is over.
 */
import type { StackEnv } from "../lib/stack-env.js";
import { signUp, startConversation as startRoom, type Person } from "./browser.js";
import { openTab, type Tab } from "./client.js";
import type { Conversation } from "./conversation.js";

export type Room = { roomId: string; tabs: Tab[]; label: string; people: [Person, Person] };

export type CastOptions = { pairs: number; rate: number; ackTimeoutMs: number; reads: boolean };

/** Runs `task` over `items`, at most `concurrency` at a time. */
async function inParallel<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += concurrency)
    results.push(...(await Promise.all(items.slice(i, i + concurrency).map(task))));
  return results;
}

/** Opens a chat tab for `person` in `roomId`; resolves once the server said `ready`. */
export async function openTabFor(
  stack: StackEnv,
  ca: Buffer,
  options: CastOptions,
  roomId: string,
  person: Person,
): Promise<Tab> {
  const { ackTimeoutMs, reads } = options;
  const tab = openTab({ url: stack.APP_URL, origin: stack.APP_URL, ca, roomId, person, ackTimeoutMs, reads });
  await tab.start();
  return tab;
}

/** Signs up two people per pair, opens their room and a tab each, and has them start talking. */
export async function castRooms(stack: StackEnv, ca: Buffer, options: CastOptions, talk: Conversation): Promise<Room[]> {
  const people = await inParallel(
    Array.from({ length: options.pairs * 2 }, (_, i) => i),
    4,
    (i) => signUp(stack, ca, `chaos-${i >> 1}${i % 2 ? "b" : "a"}`),
  );
  const rooms: Room[] = [];
  for (let p = 0; p < options.pairs; p++) {
    const [a, b] = [people[2 * p], people[2 * p + 1]];
    if (!a || !b) throw new Error("sign-ups out of step");
    const roomId = await startRoom(a, b);
    const tabs = await Promise.all([a, b].map((person) => openTabFor(stack, ca, options, roomId, person)));
    const room: Room = { roomId, label: `p${p}`, tabs, people: [a, b] };
    rooms.push(room);
    room.tabs.forEach((tab, i) => talk.add(tab, `${room.label}${i ? "b" : "a"}`, options.rate));
  }
  return rooms;
}

/** Whether every tab has been delivered a message typed (by another tab) after `since`. */
export function everyTabHeardSince(rooms: Room[], since: number): boolean {
  return rooms.every((room) => {
    const typedAt = new Map(room.tabs.flatMap((t) => t.typed.map((m) => [m.clientId, m.typedAt] as const)));
    return room.tabs.every((tab) => {
      for (let i = tab.deliveries.length - 1; i >= 0; i--) {
        const d = tab.deliveries[i];
        if (!d || d.at < since) return false;
        if ((typedAt.get(d.clientId) ?? 0) >= since) return true;
      }
      return false;
    });
  });
}

/** Where each tab stands, for a fault that was not recovered from. */
export function describeTabs(rooms: Room[]): string {
  return rooms
    .flatMap((room) =>
      room.tabs.map((tab, i) => {
        const last = tab.deliveries.at(-1);
        const closes = tab.closes.map((c) => `${c.code}${c.why ? ` (${c.why})` : ""}`).join(", ") || "none";
        const refusals = tab.refusals.slice(-4).map((r) => `${r.code}/${r.retryAfterMs ?? "-"}`);
        const heard = last ? `#${last.seq} ${Math.round((Date.now() - last.at) / 1000)} s ago` : "nothing";
        return `  ${room.label}/${i}: ${tab.live ? "live" : "down"}, connection ${tab.connection}, ${tab.pending} unacked, closes ${closes}, last refusals ${refusals.join(", ") || "none"}, last heard ${heard}`;
      }),
    )
    .join("\n");
}
