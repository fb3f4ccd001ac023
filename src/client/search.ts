/**
 * Search in the open conversation: a panel under the header (the search button, or Ctrl/Cmd+F),
 * Enter searches, the arrow keys move from the box through the results, Enter on a result jumps
 * to it (the page loads that part of history), Escape closes. The query goes in a POST body, so
 * it is in no URL or log; results come newest first, a bounded window of history per request,
 * and "Search older messages" asks for the next window. Hits are <mark> elements around text
 * nodes: nothing a user typed becomes HTML.
 */
import { snippetParts } from "./highlight.js";
import { timeLabel, dayLabel } from "./format.js";
import { partsOf } from "./dom.js";

type Hit = { seq: number; from: string; at: string; text: string; name?: string };
type Answer = { results: Hit[]; next: number | null; scanned: number };

export type SearchOptions = {
  root: HTMLElement;
  roomId: string;
  me: string;
  peerName: string;
  /** Shows message `seq` in the list, loading its part of history if needed. */
  jumpTo(seq: number): Promise<void>;
  /** Ends the page-wide shortcut (the conversation pane is being replaced). */
  signal?: AbortSignal;
};

export function setupSearch(options: SearchOptions): void {
  const { root, roomId } = options;
  const toggle = root.querySelector<HTMLButtonElement>("#search-toggle");
  if (!toggle) return;
  const need = partsOf(root, "search");
  const panel = need<HTMLElement>("#chat-search");
  const form = need<HTMLFormElement>("#chat-search-form");
  const input = need<HTMLInputElement>("#chat-search-text");
  const status = need<HTMLElement>("#chat-search-status");
  const results = need<HTMLOListElement>("#chat-search-results");
  const more = need<HTMLButtonElement>("#chat-search-more");
  const close = need<HTMLButtonElement>("#chat-search-close");
  const csrf = root.querySelector<HTMLInputElement>('input[name="_csrf"]')?.value ?? "";

  let query = "";
  let next: number | null = null;
  let found = 0;
  let scanned = 0;
  let busy = false;

  const open = () => {
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    input.focus();
    input.select();
  };
  const shut = () => {
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    toggle.focus();
  };
  const rows = () => [...results.querySelectorAll<HTMLButtonElement>("button.search-hit")];

  function row(hit: Hit): HTMLLIElement {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "search-hit";
    button.dataset.seq = String(hit.seq);
    const meta = document.createElement("span");
    meta.className = "search-hit-meta small";
    const when = new Date(hit.at);
    meta.textContent = `${hit.from === options.me ? "You" : options.peerName} · ${dayLabel(when)} ${timeLabel(when)}`;
    const text = document.createElement("span");
    text.className = "search-hit-text";
    for (const part of snippetParts(hit.text || hit.name || "", query)) {
      if (!part.hit) text.append(part.text);
      else {
        const mark = document.createElement("mark");
        mark.textContent = part.text;
        text.append(mark);
      }
    }
    button.append(meta, text);
    button.addEventListener("click", () => void options.jumpTo(hit.seq));
    li.append(button);
    return li;
  }

  function say(): void {
    const where = next === null ? "in the whole conversation" : `in the newest ${scanned} messages`;
    status.textContent =
      found === 0 ? `No messages with “${query}” ${where}.` : `${found} ${found === 1 ? "message" : "messages"} ${where}.`;
    more.hidden = next === null;
  }

  async function run(fresh: boolean): Promise<void> {
    if (busy) return;
    if (fresh) {
      query = input.value.trim();
      next = null;
      found = 0;
      scanned = 0;
      results.replaceChildren();
      if (!query) {
        status.textContent = "";
        more.hidden = true;
        return;
      }
    }
    busy = true;
    status.textContent = "Searching…";
    try {
      const res = await fetch(`/api/rooms/${roomId}/search`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ q: query, ...(fresh || next === null ? {} : { before: next }) }),
      });
      if (!res.ok) {
        const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
        status.textContent = body.error?.message ?? "Search failed. Try again.";
        return;
      }
      const answer = (await res.json()) as Answer;
      for (const hit of answer.results) results.append(row(hit));
      found += answer.results.length;
      scanned += answer.scanned;
      next = answer.next;
      say();
    } catch {
      status.textContent = "Search failed: check your connection and try again.";
    } finally {
      busy = false;
    }
  }

  toggle.addEventListener("click", () => (panel.hidden ? open() : shut()));
  close.addEventListener("click", shut);
  more.addEventListener("click", () => void run(false));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void run(true);
  });
  document.addEventListener(
    "keydown",
    (event) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "f") {
        event.preventDefault();
        open();
      }
    },
    { signal: options.signal },
  );
  panel.addEventListener("keydown", (event) => {
    const list = rows();
    const at = list.indexOf(document.activeElement as HTMLButtonElement);
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      shut();
    } else if (event.key === "ArrowDown" && (at >= 0 || document.activeElement === input)) {
      event.preventDefault();
      list[Math.min(at + 1, list.length - 1)]?.focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      if (at === 0) input.focus();
      else list[at - 1]?.focus();
    }
  });
}
