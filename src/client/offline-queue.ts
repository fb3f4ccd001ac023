/**
 * The offline page's list of messages still waiting to be sent: the chat page keeps each
 * conversation's unsent messages in this browser (outbox.ts, localStorage; cleared with the rest
 * of the site's storage on sign-out), so the cached offline page, which holds no one's data
 * itself, can show them from there. They go when their conversation is open and online again.
 */
import type { Outgoing } from "./outbox.js";
import { el } from "./dom.js";

const PREFIX = "duet:outbox:";
const ROOM = /^[A-Za-z0-9_-]{22}$/;

/** Unsent messages per conversation, from this browser's storage (empty if it has none or no storage). */
function queued(): Array<{ roomId: string; items: Outgoing[] }> {
  const found: Array<{ roomId: string; items: Outgoing[] }> = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i) ?? "";
      const roomId = key.slice(PREFIX.length);
      if (!key.startsWith(PREFIX) || !ROOM.test(roomId)) continue;
      const parsed: unknown = JSON.parse(localStorage.getItem(key) ?? "[]");
      const items = Array.isArray(parsed)
        ? (parsed as Outgoing[]).filter((o) => typeof o?.text === "string" && typeof o.at === "string")
        : [];
      if (items.length > 0) found.push({ roomId, items });
    }
  } catch {
    // No storage, or an entry that is not ours: nothing to show.
  }
  return found;
}

/** Fills the offline page's "waiting to be sent" section, if the page has one and anything waits. */
export function showOfflineQueue(): void {
  const section = document.getElementById("offline-queue");
  const list = section?.querySelector("ol");
  if (!section || !list) return;
  const rooms = queued();
  if (rooms.length === 0) return;
  for (const { roomId, items } of rooms) {
    const group = el("li", "offline-room");
    const link = el("a", "", items.length === 1 ? "1 message in a conversation" : `${items.length} messages in a conversation`);
    link.setAttribute("href", `/chat/${roomId}`);
    const texts = el("ul", "offline-messages");
    for (const item of items) {
      const line = el("li", item.failed ? "failure" : "", item.text);
      if (item.failed) line.append(el("span", "small", ` (not sent: ${item.failed})`));
      texts.append(line);
    }
    group.append(link, texts);
    list.append(group);
  }
  section.hidden = false;
}
