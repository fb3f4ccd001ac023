import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { createHeartbeat } from "./heartbeat.js";

describe("one heartbeat for every socket of an instance", () => {
  it("a peer that stops answering pings is dropped, one that answers stays, a closed one is forgotten", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const heartbeat = createHeartbeat(50);
    const serverSide: WebSocket[] = [];
    wss.on("connection", (ws) => {
      serverSide.push(ws);
      heartbeat.watch(ws);
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pings = new Map<WebSocket, number>();
    const open = async (options: { autoPong: boolean }) => {
      const ws = new WebSocket(url, options);
      ws.on("ping", () => pings.set(ws, (pings.get(ws) ?? 0) + 1));
      await once(ws, "open");
      return ws;
    };
    try {
      const answering = await open({ autoPong: true });
      const silent = await open({ autoPong: false }); // a peer whose network went away
      const leaving = await open({ autoPong: true });
      leaving.close();
      const [code] = (await once(silent, "close")) as [number];
      assert.equal(code, 1006, "terminated, not closed politely");
      const [heard, unanswered] = [pings.get(answering) ?? 0, pings.get(silent) ?? 0];
      assert.ok(unanswered >= 1, "the silent peer was pinged before it was dropped");
      // Watched first, so pinged in every round the silent one was.
      assert.ok(heard >= unanswered, `the answering peer was pinged through the same rounds (${heard} vs ${unanswered})`);
      assert.equal(answering.readyState, WebSocket.OPEN, "and is still connected");
      assert.equal(serverSide[2]?.readyState, WebSocket.CLOSED);
      answering.close();
    } finally {
      heartbeat.close();
      wss.close();
      server.close();
    }
  });
});
