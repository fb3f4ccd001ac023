/**
 * Messages typed but not yet acknowledged, kept in localStorage so a reload, a crash or a
 * dropped connection loses nothing: they are sent again (same client id, so never twice).
 */
import type { Quote } from "../chat/protocol.js";

export type Outgoing = { clientId: string; text: string; at: string; failed?: string; replyTo?: Quote };

const outboxKey = (roomId: string) => `duet:outbox:${roomId}`;

/** Drops a room's queue for good (the conversation was deleted: nothing can be sent to it). */
export function forgetOutbox(roomId: string): void {
  try {
    localStorage.removeItem(outboxKey(roomId));
  } catch {
    // Storage disabled: there was no queue to keep.
  }
}

export function createOutbox(roomId: string) {
  const key = outboxKey(roomId);
  const read = (): Outgoing[] => {
    try {
      const parsed: unknown = JSON.parse(localStorage.getItem(key) ?? "[]");
      return Array.isArray(parsed) ? (parsed as Outgoing[]) : [];
    } catch {
      return [];
    }
  };
  const write = (items: Outgoing[]) => {
    try {
      if (items.length) localStorage.setItem(key, JSON.stringify(items));
      else localStorage.removeItem(key);
    } catch {
      // Storage full or disabled: the queue still lives in memory for this page.
    }
  };
  let items = read();
  return {
    all: () => items,
    add(item: Outgoing) {
      items = [...items, item];
      write(items);
    },
    remove(clientId: string) {
      items = items.filter((i) => i.clientId !== clientId);
      write(items);
    },
    fail(clientId: string, reason: string) {
      items = items.map((i) => (i.clientId === clientId ? { ...i, failed: reason } : i));
      write(items);
    },
    retry(clientId: string) {
      items = items.map((i) => (i.clientId === clientId ? { ...i, failed: undefined } : i));
      write(items);
    },
  };
}
export type Outbox = ReturnType<typeof createOutbox>;
