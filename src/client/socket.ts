/**
 * The chat connection as the page sees it: connects, resumes from the last number it holds,
 * reconnects with backoff (and at once when the network or tab comes back), and reports its state,
 * with the time of the next attempt while reconnecting. When the browser goes offline the socket
 * is closed at once (a dead connection can otherwise look open for minutes) and nothing is tried
 * until it is back online.
 */
import type { ClientFrame, ServerFrame } from "../chat/protocol.js";
import { forgetFiles } from "./file-outbox.js";
import { forgetOutbox } from "./outbox.js";
import { reportVisibility } from "./visibility.js";

/** Close code for "your session ended" (src/realtime/session-sockets.ts). */
const SESSION_ENDED_CLOSE = 4401;
/** Close code for "the conversation was deleted" (ROOM_DELETED_CLOSE in src/chat/protocol.ts; a
 * value import from there would bundle zod into the page). */
const ROOM_DELETED_CLOSE = 4404;

export type SocketState = "connecting" | "live" | "reconnecting" | "offline";
export type StateInfo = { detail?: string; retryAt?: number };

export function connectChat(options: {
  roomId: string;
  lastSeq: () => number;
  onFrame: (frame: ServerFrame) => void;
  onState: (state: SocketState, info?: StateInfo) => void;
  /** Closes the connection for good and ends its listeners (the conversation pane is being replaced). */
  signal?: AbortSignal;
  /**
   * The server ended the connection for good (the conversation deleted, or a refusal): true if the
   * caller has dealt with it, instead of the page showing it and leaving a deleted conversation.
   */
  ended?: (detail: string) => boolean;
}) {
  const { signal } = options;
  let ws: WebSocket | undefined;
  let attempt = 0;
  let timer: number | undefined;
  let live = false;
  let stopped = false;

  const open = () => {
    window.clearTimeout(timer);
    if (!navigator.onLine) return options.onState("offline");
    options.onState(attempt === 0 ? "connecting" : "reconnecting");
    const url = new URL(`/ws/chat/${options.roomId}`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (options.lastSeq() > 0) url.searchParams.set("after", String(options.lastSeq()));
    const socket = new WebSocket(url);
    ws = socket;
    reportVisibility(socket);
    socket.addEventListener("message", (event) => {
      // Stopped: what was still on its way belongs to a pane no longer shown.
      if (stopped) return;
      const frame = JSON.parse(String(event.data)) as ServerFrame;
      if (frame.type === "ready") {
        attempt = 0;
        live = true;
        options.onState("live");
      }
      options.onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      live = false;
      if (ws !== socket || stopped) return;
      // The session ended (signed out here or elsewhere, revoked, expired): sign in again, then
      // come back here. Unsent messages stay queued for this room and go when the user returns.
      if (event.code === SESSION_ENDED_CLOSE) {
        stopped = true;
        options.onState("offline", { detail: "You were signed out." });
        return location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
      }
      // The conversation was deleted (by either member): nothing here can be sent or shown.
      if (event.code === ROOM_DELETED_CLOSE) {
        stopped = true;
        forgetOutbox(options.roomId);
        void forgetFiles(options.roomId);
        const detail = "This conversation was deleted.";
        if (options.ended?.(detail)) return;
        options.onState("offline", { detail });
        return location.assign("/chat");
      }
      // 1008: the server refused what we sent; reconnecting would repeat it.
      if (event.code === 1008) {
        stopped = true;
        const detail = "The connection was closed by the server.";
        if (options.ended?.(detail)) return;
        return options.onState("offline", { detail });
      }
      if (!navigator.onLine) return options.onState("offline");
      attempt++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
      options.onState("reconnecting", { retryAt: Date.now() + delay });
      timer = window.setTimeout(open, delay);
    });
  };

  const now = () => {
    if (stopped || live || ws?.readyState === WebSocket.CONNECTING) return;
    attempt = Math.max(attempt, 1);
    ws?.close();
    open();
  };
  window.addEventListener("online", now, { signal });
  window.addEventListener(
    "offline",
    () => {
      if (stopped) return;
      window.clearTimeout(timer);
      const socket = ws;
      ws = undefined;
      live = false;
      socket?.close();
      options.onState("offline");
    },
    { signal },
  );
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && now(), { signal });
  signal?.addEventListener("abort", () => {
    stopped = true;
    live = false;
    window.clearTimeout(timer);
    ws?.close(1000, "switched conversation");
  });
  open();

  return {
    get live() {
      return live;
    },
    /** Tries again at once instead of waiting for the backoff. */
    retryNow: now,
    send(frame: ClientFrame): boolean {
      if (!live || !ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(frame));
      return true;
    },
  };
}
