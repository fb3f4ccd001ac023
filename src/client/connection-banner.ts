/**
 * The banner above the conversation that says how its connection is (socket.ts reports it):
 * hidden while live; "Connecting…"; offline, and why when the server said; "Reconnecting in N s…"
 * counting down, with a button to try at once. It says how many messages are waiting to be sent.
 */
import { partsOf } from "./dom.js";
import type { SocketState, StateInfo } from "./socket.js";

/** What the banner says in `state` at time `now`, with `queued` messages waiting to be sent. */
export function connectionText(state: SocketState, info: StateInfo, queued: number, now: number): string {
  const waiting = queued ? ` ${queued === 1 ? "1 message is" : `${queued} messages are`} waiting to be sent.` : "";
  switch (state) {
    case "live":
      return "";
    case "connecting":
      return "Connecting…";
    case "offline":
      return info.detail ?? `You're offline. Messages you write are kept and go when you're back.${waiting}`;
    case "reconnecting": {
      const seconds = info.retryAt ? Math.max(0, Math.ceil((info.retryAt - now) / 1000)) : 0;
      return `${seconds > 0 ? `Connection lost. Reconnecting in ${seconds} s…` : "Reconnecting…"}${waiting}`;
    }
  }
}

export type ConnectionBanner = ReturnType<typeof createConnectionBanner>;

export function createConnectionBanner(options: {
  /** The conversation's pane: its `data-state` is the connection's state (conversation-switch.ts waits on it). */
  root: HTMLElement;
  /** How many typed messages are waiting to be sent. */
  waiting(): number;
  retryNow(): void;
}) {
  const { root } = options;
  const part = partsOf(root, "chat page");
  const banner = part<HTMLElement>("#connection");
  const bannerText = part<HTMLElement>("#connection-text");
  const retryButton = part<HTMLButtonElement>("#connection-retry");
  let countdown: number | undefined;
  retryButton.addEventListener("click", () => options.retryNow());

  function show(state: SocketState, info: StateInfo = {}): void {
    window.clearInterval(countdown);
    root.dataset.state = state;
    const queued = options.waiting();
    const text = () => connectionText(state, info, queued, Date.now());
    bannerText.textContent = text();
    banner.hidden = state === "live";
    banner.dataset.kind = state;
    retryButton.hidden = state !== "reconnecting";
    if (state === "reconnecting" && info.retryAt) countdown = window.setInterval(() => (bannerText.textContent = text()), 1000);
  }

  return {
    show,
    /** Says again how many messages wait (one was just typed while not live). */
    refresh(): void {
      const state = root.dataset.state as SocketState | undefined;
      if (state && state !== "live") show(state);
    },
    stop: (): void => window.clearInterval(countdown),
  };
}
