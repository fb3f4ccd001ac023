/**
 * The HTTP upgrade entry for WebSockets. Features register a route (a path pattern and a
 * handler that authorizes and accepts); any other upgrade is refused with a plain HTTP
 * status before a single WebSocket frame is exchanged.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { STATUS_CODES } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "../logger.js";

export type UpgradeRoute = {
  pattern: RegExp;
  /** Accepts with `accept()` or refuses by throwing an AppError-like `{status}`. */
  handle(req: IncomingMessage, match: RegExpExecArray, accept: () => Promise<WebSocket>): Promise<void>;
};

export type Sockets = {
  wss: WebSocketServer;
  /** Closes every socket with 1001 (going away) so clients reconnect to another instance. */
  closeAll(reason: string): void;
};

/** Writes a bare HTTP response on a socket that asked to upgrade, then closes it. */
export function refuseUpgrade(socket: Duplex, status: number): void {
  if (socket.writable) {
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
  socket.destroy();
}

/** `maxPayload`: the largest frame any route's protocol allows; a larger one closes the socket (1009). */
export function attachSockets(
  server: Server,
  routes: readonly UpgradeRoute[],
  log: Logger,
  options: { maxPayload: number },
): Sockets {
  // permessage-deflate costs memory per socket and has a history of fragmentation bugs.
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: options.maxPayload });

  // Listeners that live as long as a socket are made once, here, not inside the upgrade handler:
  // a closure made there keeps the handler's whole scope, the upgrade request with its headers
  // and buffers among it, for the socket's life (measured: several KiB per idle socket).
  const onSocketError = (err: Error) => log.debug({ err }, "upgrade socket error");
  // A protocol violation (e.g. an oversized frame) is emitted as 'error' and then closes the
  // socket with the right code; unhandled, it would crash the process.
  const onProtocolError = (err: Error) => log.debug({ err: err.message }, "websocket protocol error");

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", onSocketError);
    const path = new URL(req.url ?? "/", "http://internal").pathname;
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      const accept = () =>
        new Promise<WebSocket>((resolve) =>
          wss.handleUpgrade(req, socket, head, (ws) => {
            ws.on("error", onProtocolError);
            // Which instance holds which socket, for operators (and the Docker test) to read.
            log.info({ path }, "websocket accepted");
            resolve(ws);
          }),
        );
      route.handle(req, match, accept).catch((err: unknown) => {
        const status =
          typeof err === "object" && err !== null && "status" in err && typeof err.status === "number" ? err.status : 500;
        if (status >= 500) log.error({ err }, "upgrade failed");
        refuseUpgrade(socket, status);
      });
      return;
    }
    refuseUpgrade(socket, 404);
  });

  return {
    wss,
    closeAll(reason) {
      for (const client of wss.clients) client.close(1001, reason);
    },
  };
}
