/**
 * One member's socket, the same shape for every system under test: send a message with a client
 * id, hear acks, messages and errors. Duet speaks its own protocol (src/chat/protocol.ts); the
 * ws relay mirrors it without auth, storage or crypto; Socket.IO uses events with ack callbacks.
 */
import { io } from "socket.io-client";
import WebSocket from "ws";

/** The frames of Duet's protocol the bench reads (src/chat/protocol.ts has them all). */
type ServerFrame =
  | { type: "ack"; clientId: string; seq: number }
  | { type: "message"; clientId: string; text: string; seq: number }
  | { type: "error"; code: string }
  | { type: "ready"; upTo: number }
  | { type: "other" };

export type Conn = {
  send(clientId: string, text: string): void;
  /** Set by the load driver for each step. */
  handlers: {
    ack(clientId: string): void;
    message(clientId: string, text: string): void;
    error(code: string): void;
  };
  /** The highest message number this socket has seen (Duet only), kept for the next run's resume. */
  highest: number;
  /** Whether the server closed the socket (and with what), for the report. */
  closedWith: string | undefined;
  close(): void;
};

export type ConnectOptions = {
  url: string;
  roomId: string;
  userId: string;
  ca: Buffer;
  cookie?: string;
  origin?: string;
  timeoutMs?: number;
};

const ignore = () => undefined;
const freshHandlers = (): Conn["handlers"] => ({ ack: ignore, message: ignore, error: ignore });

function onOpen(ws: WebSocket, conn: Conn, until: (resolve: () => void) => void, timeoutMs = 15_000): Promise<Conn> {
  ws.on("close", (code, reason) => (conn.closedWith ??= `${code} ${reason.toString()}`.trim()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from ${ws.url} within ${timeoutMs} ms`)), timeoutMs);
    until(() => {
      clearTimeout(timer);
      resolve(conn);
    });
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode} (${ws.url})`)));
    ws.once("error", reject);
  });
}

/** Duet's chat socket; resolves after the server's `ready` frame (catch-up done). */
export function connectDuet(o: ConnectOptions & { after: number }): Promise<Conn> {
  const ws = new WebSocket(`${o.url}/ws/chat/${o.roomId}?after=${o.after}`, {
    headers: { Origin: o.origin ?? "", Cookie: o.cookie ?? "" },
    ca: o.ca,
    perMessageDeflate: false,
  });
  const conn: Conn = {
    send: (clientId, text) => ws.send(JSON.stringify({ type: "send", clientId, text })),
    handlers: freshHandlers(),
    highest: o.after,
    closedWith: undefined,
    close: () => ws.terminate(),
  };
  let ready: () => void = ignore;
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as ServerFrame;
    if (frame.type === "ack") {
      conn.highest = Math.max(conn.highest, frame.seq);
      conn.handlers.ack(frame.clientId);
    } else if (frame.type === "message") {
      conn.highest = Math.max(conn.highest, frame.seq);
      conn.handlers.message(frame.clientId, frame.text);
    } else if (frame.type === "error") conn.handlers.error(frame.code);
    else if (frame.type === "ready") {
      conn.highest = Math.max(conn.highest, frame.upTo);
      ready();
    }
  });
  return onOpen(ws, conn, (resolve) => (ready = resolve), o.timeoutMs);
}

/** The bare ws + ioredis relay (relays/ws-relay.ts). */
export function connectWsRelay(o: ConnectOptions): Promise<Conn> {
  const ws = new WebSocket(`${o.url}/ws/relay/${o.roomId}?user=${o.userId}`, { ca: o.ca, perMessageDeflate: false });
  const conn: Conn = {
    send: (clientId, text) => ws.send(JSON.stringify({ type: "send", clientId, text })),
    handlers: freshHandlers(),
    highest: 0,
    closedWith: undefined,
    close: () => ws.terminate(),
  };
  ws.on("message", (data) => {
    const frame = JSON.parse(String(data)) as { type: string; clientId: string; text: string };
    if (frame.type === "ack") conn.handlers.ack(frame.clientId);
    else if (frame.type === "message") conn.handlers.message(frame.clientId, frame.text);
  });
  return onOpen(ws, conn, (resolve) => ws.once("open", resolve));
}

/** Socket.IO with its Redis adapter (relays/socketio-relay.ts), WebSocket transport only. */
export function connectSocketIo(o: ConnectOptions): Promise<Conn> {
  const socket = io(o.url, {
    path: "/ws/socket.io",
    transports: ["websocket"],
    query: { room: o.roomId, user: o.userId },
    ca: o.ca.toString(),
    forceNew: true,
    reconnection: false,
  });
  const conn: Conn = {
    send: (clientId, text) => void socket.emit("send", { clientId, text }, () => conn.handlers.ack(clientId)),
    handlers: freshHandlers(),
    highest: 0,
    closedWith: undefined,
    close: () => void socket.disconnect(),
  };
  socket.on("message", (m: { clientId: string; text: string }) => conn.handlers.message(m.clientId, m.text));
  socket.on("disconnect", (reason) => (conn.closedWith ??= reason));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(conn));
    socket.once("connect_error", reject);
  });
}
