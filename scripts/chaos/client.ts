/**
 * A chat tab that behaves like the browser's (src/client/chat.ts, socket.ts, outbox.ts): it
 * resumes from the highest number it was sent as a message, keeps every unacknowledged send in
 * an outbox and sends the whole outbox again, in order and with the same client ids, once the
 * socket is ready and whenever the server says when to retry; it reconnects with the page's
 * backoff unless the server closed with 1008 or 4401. Two watchdogs stand in for a person's
 * patience: sends outstanding with no answer to any of them for `ackTimeoutMs`, or a socket with
 * no `ready` for 1.5 times that, mean the server is stuck (a SIGSTOPped process), so the tab drops
 * the socket and reconnects. The clock runs from the last answer, not from each send: a server
 * working through a long outbox one send after another is slow, not stuck, and dropping it
 * would start the whole outbox over.
 *
 * Everything is recorded for the report: each message delivered, on which connection, when.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import type { ServerFrame } from "../../src/chat/protocol.js";
import type { Person } from "./browser.js";

/** A message the server delivered to this tab. */
export type Delivery = { conn: number; seq: number; clientId: string; from: string; at: number };

/** A message typed in this tab, and what became of it. */
export type Typed = {
  clientId: string;
  text: string;
  typedAt: number;
  /** Where the scenario was when it was typed (a fault's row). */
  window: string;
  ack?: { seq: number; at: number; conn: number };
  /** Acks that named another number than the first one (never expected). */
  otherAcks: number[];
  /** The connections it was sent on, in order. */
  sentOn: number[];
  /** A refusal with no retry (the browser shows it as failed and stops sending it). */
  failed?: string;
};

export type TabOptions = {
  url: string;
  origin: string;
  ca: Buffer;
  roomId: string;
  person: Person;
  ackTimeoutMs: number;
  /** Send `read` receipts as the visible page does. */
  reads?: boolean;
};

const SESSION_ENDED_CLOSE = 4401;

export type Tab = ReturnType<typeof openTab>;

export function openTab(options: TabOptions) {
  const typed: Typed[] = [];
  const deliveries: Delivery[] = [];
  const closes: Array<{ conn: number; code: number; at: number; why?: string }> = [];
  const refusals: Array<{ conn: number; code: string; retryAfterMs?: number; at: number }> = [];
  let ws: WebSocket | undefined;
  let conn = 0;
  let live = false;
  let openedAt = 0;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let resumeFrom = 0;
  let readSent = 0;
  let holdUntil = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  // Sends waiting for their answer on the current socket, and when the last answer came.
  const waiting = new Set<string>();
  let answeredAt = 0;
  const readyWaiters: Array<() => void> = [];
  const createdAt = Date.now();

  const outbox = () => typed.filter((t) => !t.ack && !t.failed);

  function sendFrame(frame: unknown): boolean {
    if (!live || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function sendOne(item: Typed): void {
    if (sendFrame({ type: "send", clientId: item.clientId, text: item.text })) {
      item.sentOn.push(conn);
      if (waiting.size === 0) answeredAt = Date.now();
      waiting.add(item.clientId);
    }
  }

  function flush(): void {
    const wait = holdUntil - Date.now();
    clearTimeout(flushTimer);
    if (wait > 0) {
      flushTimer = setTimeout(flush, wait);
      return;
    }
    for (const item of outbox()) sendOne(item);
  }

  function onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "ready":
        attempt = 0;
        live = true;
        readSent = Math.max(readSent, frame.readUpTo);
        for (const wake of readyWaiters.splice(0)) wake();
        flush();
        return;
      case "ack": {
        waiting.delete(frame.clientId);
        answeredAt = Date.now();
        const item = typed.find((t) => t.clientId === frame.clientId);
        if (!item) return;
        if (!item.ack) item.ack = { seq: frame.seq, at: Date.now(), conn };
        else if (item.ack.seq !== frame.seq) item.otherAcks.push(frame.seq);
        return;
      }
      case "message":
        deliveries.push({ conn, seq: frame.seq, clientId: frame.clientId, from: frame.from, at: Date.now() });
        resumeFrom = Math.max(resumeFrom, frame.seq);
        if (options.reads && frame.seq > readSent && sendFrame({ type: "read", seq: frame.seq })) readSent = frame.seq;
        return;
      case "error": {
        refusals.push({ conn, code: frame.code, retryAfterMs: frame.retryAfterMs, at: Date.now() });
        if (!frame.clientId) return;
        waiting.delete(frame.clientId);
        answeredAt = Date.now();
        const item = typed.find((t) => t.clientId === frame.clientId);
        if (frame.retryAfterMs !== undefined) {
          // Kept; the whole outbox goes again, in order, once the wait is over.
          holdUntil = Math.max(holdUntil, Date.now() + frame.retryAfterMs);
          flush();
        } else if (item && !item.ack) item.failed = frame.code;
        return;
      }
      default:
        return;
    }
  }

  function open(): void {
    clearTimeout(timer);
    if (stopped) return;
    conn++;
    live = false;
    waiting.clear();
    openedAt = Date.now();
    const url = new URL(`/ws/chat/${options.roomId}`, options.url);
    url.protocol = "wss:";
    if (resumeFrom > 0) url.searchParams.set("after", String(resumeFrom));
    const socket = new WebSocket(url, {
      headers: { Origin: options.origin, Cookie: options.person.cookieHeader() },
      ca: options.ca,
      localAddress: options.person.address,
      perMessageDeflate: false,
    });
    ws = socket;
    socket.on("message", (data) => {
      if (ws === socket) onFrame(JSON.parse(String(data)) as ServerFrame);
    });
    // A refused upgrade or a refused connection ends in "close" too (1006), after this.
    let why: string | undefined;
    socket.on("error", (err) => (why = err.message));
    socket.on("close", (code) => {
      if (ws !== socket) return;
      live = false;
      closes.push({ conn, code, at: Date.now(), ...(why ? { why } : {}) });
      if (stopped) return;
      if (code === SESSION_ENDED_CLOSE || code === 1008) {
        stopped = true;
        return;
      }
      attempt++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
      timer = setTimeout(open, delay);
    });
  }

  const watchdog = setInterval(() => {
    if (stopped || !ws || ws.readyState === WebSocket.CLOSED) return;
    const now = Date.now();
    const stuck = live
      ? waiting.size > 0 && now - answeredAt > options.ackTimeoutMs
      : now - openedAt > options.ackTimeoutMs * 1.5;
    if (stuck) ws.terminate();
  }, 250);

  return {
    typed,
    deliveries,
    closes,
    refusals,
    createdAt,
    get connection() {
      return conn;
    },
    get live() {
      return live;
    },
    get pending() {
      return outbox().length;
    },
    /** Connects; resolves once the server said `ready`. */
    start(): Promise<void> {
      open();
      return this.ready();
    },
    ready(): Promise<void> {
      return live ? Promise.resolve() : new Promise((resolve) => readyWaiters.push(resolve));
    },
    /** Types and sends a message, as the composer does (queued while the server asked to wait). */
    type(text: string, window: string): Typed {
      const item: Typed = {
        clientId: randomBytes(12).toString("hex"),
        text,
        typedAt: Date.now(),
        window,
        otherAcks: [],
        sentOn: [],
      };
      typed.push(item);
      if (Date.now() >= holdUntil) sendOne(item);
      return item;
    },
    /** Stops reading the socket (a frozen background tab); the server keeps writing. */
    pauseReading(): void {
      ws?.pause();
    },
    resumeReading(): void {
      ws?.resume();
    },
    /** Drops the socket and connects again at once, as the page does when the network comes back. */
    reconnect(): Promise<void> {
      const previous = ws;
      ws = undefined;
      previous?.terminate();
      attempt = 1;
      open();
      return this.ready();
    },
    close(): void {
      stopped = true;
      clearInterval(watchdog);
      clearTimeout(timer);
      clearTimeout(flushTimer);
      ws?.terminate();
    },
  };
}
