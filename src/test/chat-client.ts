/** A WebSocket chat client for tests: real sockets, real cookies, frames collected as they come. */
import WebSocket from "ws";
import type { ServerFrame } from "../chat/protocol.js";
import type { TestBrowser } from "./browser.js";
import { stack } from "./stack.js";

export type ChatClient = {
  ws: WebSocket;
  frames: ServerFrame[];
  /** Resolves with the first frame (seen or still to come) matching `match`. */
  next<T extends ServerFrame["type"]>(
    type: T,
    match?: (frame: Extract<ServerFrame, { type: T }>) => boolean,
    timeoutMs?: number,
  ): Promise<Extract<ServerFrame, { type: T }>>;
  send(frame: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
};

/** Opens `/ws/chat/<roomId>` on `base` (ws:// of an app instance, or the https site) as `browser`'s user. */
export function openChat(
  browser: TestBrowser | undefined,
  roomId: string,
  options: { base?: string; after?: number; origin?: string } = {},
): Promise<ChatClient> {
  const base = (options.base ?? stack.APP_INSTANCES.split(",")[0] ?? "").replace(/^http/, "ws");
  const cookie = browser
    ? ["__Host-duet.sid", "__Host-duet.sid.sig"].map((n) => `${n}=${browser.cookie(n) ?? ""}`).join("; ")
    : "";
  const ws = new WebSocket(`${base}/ws/chat/${roomId}${options.after ? `?after=${options.after}` : ""}`, {
    headers: { Origin: options.origin ?? stack.APP_URL, ...(cookie ? { Cookie: cookie } : {}) },
  });
  const frames: ServerFrame[] = [];
  const waiters: Array<() => void> = [];
  ws.on("message", (data) => {
    frames.push(JSON.parse(data.toString()) as ServerFrame);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const client: ChatClient = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === "string" ? frame : JSON.stringify(frame)),
    next(type, match = () => true, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(frames.slice(-5))}`)),
          timeoutMs,
        );
        const look = () => {
          const found = frames.find((f) => f.type === type && match(f as never));
          if (found) {
            clearTimeout(timer);
            resolve(found as never);
          } else waiters.push(look);
        };
        look();
      });
    },
  };
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(client));
    ws.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once("error", reject);
  });
}
