/**
 * Drops dead WebSocket peers: every interval each watched socket is pinged, and one that has not
 * answered the previous ping is terminated. One timer for the whole instance, not one per socket:
 * 10,000 idle sockets cost 10,000 map entries, not 10,000 timers firing apart.
 */
import type { WebSocket } from "ws";

export type Heartbeat = {
  /** Pings `ws` from the next round on; stops when it closes. */
  watch(ws: WebSocket): void;
  close(): void;
};

export function createHeartbeat(intervalMs: number): Heartbeat {
  // Whether each socket answered since the last ping.
  const answered = new Map<WebSocket, boolean>();
  const timer = setInterval(() => {
    for (const [ws, alive] of answered) {
      if (!alive) {
        answered.delete(ws);
        ws.terminate();
        continue;
      }
      answered.set(ws, false);
      ws.ping();
    }
  }, intervalMs);
  timer.unref();
  const onPong = function (this: WebSocket) {
    if (answered.has(this)) answered.set(this, true);
  };
  const onClose = function (this: WebSocket) {
    answered.delete(this);
  };
  return {
    watch(ws) {
      if (ws.readyState !== ws.OPEN) return;
      answered.set(ws, true);
      ws.on("pong", onPong);
      ws.once("close", onClose);
    },
    close() {
      clearInterval(timer);
      answered.clear();
    },
  };
}
