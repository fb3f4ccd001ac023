/**
 * Reference relay 1: bare `ws` + ioredis, no auth, crypto or database. The same fan-out design
 * as Duet's hub (src/chat/hub.ts): one subscriber connection, a room's channel subscribed while
 * it has local sockets, publishing on another connection, own echoes ignored. A `send` frame is
 * acked at once and relayed to the room's other sockets, here and on every other instance.
 *
 *   PORT=… REDIS_URL=… node --import tsx scripts/bench/relays/ws-relay.ts
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { WebSocketServer, type WebSocket } from "ws";

const port = Number(process.env.PORT);
const redisUrl = process.env.REDIS_URL ?? "";
const origin = randomBytes(8).toString("hex");
const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
const rooms = new Map<string, Set<WebSocket>>();
const channelOf = (room: string) => `bench:relay:${room}`;

function deliver(room: string, frame: string, except?: WebSocket): void {
  for (const ws of rooms.get(room) ?? []) if (ws !== except && ws.readyState === ws.OPEN) ws.send(frame);
}

subscriber.on("message", (_channel: string, raw: string) => {
  const { o, r, f } = JSON.parse(raw) as { o: string; r: string; f: string };
  if (o !== origin) deliver(r, f);
});

const server = createServer((_req, res) => res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n"));
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 * 1024 });

wss.on("connection", (ws, req) => {
  const room = /^\/ws\/relay\/([A-Za-z0-9_-]{1,64})(\?|$)/.exec(req.url ?? "")?.[1];
  if (!room) return ws.close(1008, "no room");
  let sockets = rooms.get(room);
  if (!sockets) {
    sockets = new Set();
    rooms.set(room, sockets);
    void subscriber.subscribe(channelOf(room));
  }
  sockets.add(ws);
  ws.on("message", (data) => {
    const { clientId, text } = JSON.parse(String(data)) as { clientId: string; text: string };
    ws.send(JSON.stringify({ type: "ack", clientId }));
    const frame = JSON.stringify({ type: "message", clientId, text });
    deliver(room, frame, ws);
    void publisher.publish(channelOf(room), JSON.stringify({ o: origin, r: room, f: frame }));
  });
  ws.on("close", () => {
    sockets.delete(ws);
    if (sockets.size > 0) return;
    rooms.delete(room);
    void subscriber.unsubscribe(channelOf(room));
  });
});

server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
