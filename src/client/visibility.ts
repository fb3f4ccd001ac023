/**
 * Tells the server whether this tab is in front: a `visibility` frame when the socket opens with
 * the tab hidden, and whenever the tab goes to the back or the front. The server pushes a
 * notification to a user none of whose tabs is in front (src/chat/notify/visibility.ts); a socket
 * counts as in front until told otherwise.
 */
import type { ClientFrame } from "../chat/protocol.js";

export function reportVisibility(ws: WebSocket): void {
  const say = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const frame: ClientFrame = { type: "visibility", visible: document.visibilityState === "visible" };
    ws.send(JSON.stringify(frame));
  };
  ws.addEventListener("open", () => {
    if (document.visibilityState !== "visible") say();
    document.addEventListener("visibilitychange", say);
  });
  ws.addEventListener("close", () => document.removeEventListener("visibilitychange", say));
}
