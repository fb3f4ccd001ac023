/**
 * A WebSocket lives no longer than the session that opened it. Each socket is filed under its
 * session's handle and closed (4401) on every instance as soon as that session ends: signed out,
 * revoked from another browser, ended by a password change or reset or an account deletion
 * (announced over Redis pub/sub), or past its idle or absolute deadline (a timer per socket,
 * which looks the session up again before closing, since requests push the idle deadline out).
 * After a subscriber outage an announcement may have been missed, so every socket's session is
 * looked up again.
 */
import type { Redis } from "ioredis";
import type { WebSocket } from "ws";
import type { Logger } from "../logger.js";

/** The close code a page takes as "signed out: go to the sign-in page". */
export const SESSION_ENDED_CLOSE = 4401;

// setTimeout holds at most 2^31-1 ms (~24.8 days); a session can last 30 days.
const LONGEST_WAIT_MS = 6 * 3600_000;
// When Redis cannot say whether a session lives, ask again this much later rather than guess.
const RETRY_MS = 5_000;

export type SessionSockets = {
  /** Files `ws` under its session; it is closed when the session ends. */
  add(ws: WebSocket, session: { handle: string; deadline: number }): void;
  /** Stops listening (shutdown); open sockets are left to the caller. */
  close(): Promise<void>;
};

type Entry = { ws: WebSocket; timer?: NodeJS.Timeout };

export function createSessionSockets(options: {
  subscriber: Redis;
  channel: string;
  /** The session's current deadline (ms since epoch), or undefined if it has ended. */
  deadlineOf(handle: string): Promise<number | undefined>;
  log: Logger;
}): SessionSockets {
  const { subscriber, channel, log } = options;
  const byHandle = new Map<string, Set<Entry>>();
  let hadOutage = false;

  const end = (handle: string): void => {
    const entries = byHandle.get(handle);
    if (!entries) return;
    byHandle.delete(handle);
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.ws.close(SESSION_ENDED_CLOSE, "signed out");
    }
  };

  const schedule = (handle: string, entry: Entry, deadline: number): void => {
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void check(handle), Math.min(Math.max(0, deadline - Date.now()), LONGEST_WAIT_MS));
    entry.timer.unref();
  };

  async function check(handle: string): Promise<void> {
    let deadline: number | undefined;
    try {
      deadline = await options.deadlineOf(handle);
    } catch (err) {
      log.warn({ err: err instanceof Error ? err.message : err }, "could not check a socket's session; will retry");
      for (const entry of byHandle.get(handle) ?? []) schedule(handle, entry, Date.now() + RETRY_MS);
      return;
    }
    if (deadline === undefined) return end(handle);
    for (const entry of byHandle.get(handle) ?? []) schedule(handle, entry, deadline);
  }

  const onMessage = (from: string, handle: string): void => {
    if (from === channel) end(handle);
  };
  const onClose = (): void => void (hadOutage = true);
  const onReady = (): void => {
    if (!hadOutage) return;
    hadOutage = false;
    for (const handle of [...byHandle.keys()]) void check(handle);
  };
  subscriber.on("message", onMessage);
  subscriber.on("close", onClose);
  subscriber.on("ready", onReady);
  const subscribed = subscriber
    .subscribe(channel)
    .catch((err: unknown) => log.warn({ err }, "session-end subscription failed; sessions are checked on reconnect"));

  return {
    add(ws, session) {
      const entry: Entry = { ws };
      let entries = byHandle.get(session.handle);
      if (!entries) byHandle.set(session.handle, (entries = new Set()));
      entries.add(entry);
      schedule(session.handle, entry, session.deadline);
      ws.once("close", () => {
        clearTimeout(entry.timer);
        const current = byHandle.get(session.handle);
        current?.delete(entry);
        if (current?.size === 0) byHandle.delete(session.handle);
      });
      // The session may have ended between the upgrade's check and now.
      void check(session.handle);
    },
    async close() {
      await subscribed;
      subscriber.off("message", onMessage);
      subscriber.off("close", onClose);
      subscriber.off("ready", onReady);
      for (const entries of byHandle.values()) for (const entry of entries) clearTimeout(entry.timer);
      byHandle.clear();
    },
  };
}
