/**
 * Reference relay 2: Socket.IO with its Redis adapter (@socket.io/redis-adapter on ioredis),
 * WebSocket transport only, permessage-deflate off. A `send` event is acked through Socket.IO's
 * ack callback and emitted to the rest of the room, on every instance.
 *
 *   PORT=… REDIS_URL=… node --import tsx scripts/bench/relays/socketio-relay.ts
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const port = Number(process.env.PORT);
const redisUrl = process.env.REDIS_URL ?? "";
const publisher = new Redis(redisUrl);
const subscriber = publisher.duplicate();

const server = createServer((_req, res) => res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n"));
const io = new Server(server, {
  path: "/ws/socket.io",
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  adapter: createAdapter(publisher, subscriber, { key: "bench:sio" }),
});

io.on("connection", (socket) => {
  const room = String(socket.handshake.query.room ?? "");
  if (!room) return void socket.disconnect(true);
  void socket.join(room);
  socket.on("send", (message: { clientId: string; text: string }, ack?: () => void) => {
    ack?.();
    socket.to(room).emit("message", message);
  });
});

server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
