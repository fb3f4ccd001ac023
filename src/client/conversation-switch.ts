/**
 * Switching conversations without a page load (issue #14). Beside the list (wide screens), a click
 * on another conversation fetches that conversation's page, puts its pane (#chat) and title in
 * place of the open one's, and pushes its URL; back and forward switch the same way. The pane's
 * markup is the server's own page, so a direct URL renders exactly what a switch shows. The open
 * conversation is stopped before the next one starts (its socket closed, its listeners and timers
 * ended): one chat socket is open at a time. The list is not touched, so it keeps its scroll, and
 * marks the open conversation. Anything unexpected (an error, a redirect to sign in, no pane in
 * the answer) becomes an ordinary navigation to the same URL. The old socket closes only once the
 * new one is live (or after HANDOVER_MS): in between the user would be "offline" to everyone,
 * their last-seen time written, and every contact's list would flicker.
 *
 * On a phone (one pane at a time) the list is a page of its own: the pane's back link goes back in
 * history to it when that is where the reader came from, so it is the same page at the same scroll.
 */
import { markCurrent } from "./list-view.js";

const ROOM_PATH = /^\/chat\/([A-Za-z0-9_-]{22})$/;
/** Where the side list shows (the shell's breakpoint in duet.css). */
const WIDE = "(min-width: 901px)";
const HANDOVER_MS = 5000;

/** Settles when `pane`'s conversation is live, or after `ms` (offline, or a read-only room). */
function whenLive(pane: HTMLElement, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      watch.disconnect();
      window.clearTimeout(timer);
      resolve();
    };
    const watch = new MutationObserver(() => pane.dataset.state === "live" && done());
    watch.observe(pane, { attributes: true, attributeFilter: ["data-state"] });
    const timer = window.setTimeout(done, ms);
  });
}

export function setupSwitching(first: HTMLElement, start: (pane: HTMLElement) => (handOver?: Promise<unknown>) => void): void {
  let stop = start(first);
  let current = first.dataset.room;
  let pending: AbortController | undefined;
  const region = document.getElementById("conversations");
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  document.body.append(status);
  history.replaceState({ room: current }, "");

  async function show(url: string, push: boolean): Promise<void> {
    pending?.abort();
    const request = new AbortController();
    pending = request;
    let page: Document;
    try {
      const res = await fetch(url, { headers: { Accept: "text/html" }, signal: request.signal });
      // Redirected (signed out, say): the browser goes there itself, with its own URL.
      if (!res.ok || new URL(res.url).pathname !== new URL(url, location.href).pathname) throw new Error(String(res.status));
      page = new DOMParser().parseFromString(await res.text(), "text/html");
    } catch {
      if (request.signal.aborted) return;
      return location.assign(url);
    }
    if (pending !== request) return;
    pending = undefined;
    const next = page.getElementById("chat");
    const shown = document.getElementById("chat");
    if (!next || !shown) return location.assign(url);
    const pane = document.adoptNode(next);
    stop(whenLive(pane, HANDOVER_MS));
    shown.replaceWith(pane);
    document.title = page.title;
    current = pane.dataset.room;
    if (push) history.pushState({ room: current }, "", url);
    if (region && current) {
      region.dataset.current = current;
      markCurrent(region);
    }
    status.textContent = `Opened the conversation with ${pane.dataset.peerName ?? "them"}.`;
    stop = start(pane);
  }

  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target instanceof Element ? event.target.closest<HTMLAnchorElement>("#conversations a[data-room]") : null;
    if (!link || !window.matchMedia(WIDE).matches) return;
    event.preventDefault();
    if (link.dataset.room === current && !pending) return;
    void show(link.href, true);
  });

  window.addEventListener("popstate", () => {
    const room = ROOM_PATH.exec(location.pathname)?.[1];
    if (!room) return location.reload();
    if (room !== current || pending) void show(location.href, false);
  });

  // The phone's back link: back in history when the list is the page before this one.
  document.addEventListener("click", (event) => {
    const back = event.target instanceof Element ? event.target.closest<HTMLAnchorElement>("a.chat-back") : null;
    if (!back || event.defaultPrevented || event.button !== 0) return;
    const from = document.referrer ? new URL(document.referrer) : undefined;
    if (from?.origin !== location.origin || from.pathname !== new URL(back.href).pathname || history.length < 2) return;
    event.preventDefault();
    history.back();
  });
}
