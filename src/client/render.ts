/**
 * The message list in the DOM. Text is only ever inserted as text nodes (links are built as
 * elements from http(s) URLs), so nothing a user types can become HTML.
 *
 * The rendered messages are kept in an array sorted by number (pending ones last, in the order
 * they were typed): a message is placed by binary search and only its neighbours' day separator
 * and grouping are looked at again, so a page of history or a catch-up costs O(n log n), not a
 * scan of the DOM per message. Keyboard: the list is one tab stop (role="log"); the arrow keys
 * move between messages, Enter opens a message's actions, Escape closes them.
 */
import type { AttachmentInfo, Quote, ReactionCount } from "../chat/protocol.js";
import { dayLabel, linkify, timeLabel } from "./format.js";
import { insertionIndex } from "./room-state.js";
import { el } from "./dom.js";

export type Item = {
  clientId: string;
  seq?: number;
  from: string;
  text: string;
  at: string;
  editedAt?: string;
  deleted?: boolean;
  /** Stored but damaged: it failed authentication on the server. */
  unreadable?: boolean;
  /** For my own messages: where they are on the way to the other person. */
  state?: "sending" | "sent" | "failed";
  failure?: string;
  /** A file; `text` is its caption. */
  attachment?: AttachmentInfo;
  /** The message this one answers. */
  replyTo?: Quote;
  reactions?: ReactionCount[];
};

export type ListActions = {
  /** Ends what the list listens to outside itself (the conversation pane is being replaced). */
  signal?: AbortSignal;
  edit(item: Item, text: string): void;
  remove(item: Item): void;
  retry(item: Item): void;
  discard(item: Item): void;
  /** Something drawn above a message inside its row (the "new messages" marker). */
  above?(item: Item): HTMLElement | undefined;
  /** Adds what the bubble of a message with an attachment shows (attachment-view.ts). */
  decorate?(item: Item & { attachment: AttachmentInfo }, bubble: HTMLElement): void;
  /** The quote at the top of a reply's bubble (reply-view.ts). */
  quote?(item: Item & { replyTo: Quote }): HTMLElement;
  /** What goes under the bubble: the reactions (reactions-view.ts). */
  under?(item: Item): HTMLElement | undefined;
  /** More choices for a sent message's menu, before "Copy text" (reply, react, go to the quoted). */
  choices?(item: Item & { seq: number }): Array<[string, () => void]>;
};

type Entry = { item: Item; li: HTMLLIElement; dayLi?: HTMLLIElement };

const PENDING = Number.MAX_SAFE_INTEGER;
// Messages from one sender within this long of the one before are drawn as one group.
const GROUP_MS = 2 * 60_000;

// Receipt icons (16×16, stroked in the text colour): no emoji font is needed to draw them.
const ICONS = {
  clock: "M8 2.5a5.5 5.5 0 1 0 0 11a5.5 5.5 0 1 0 0-11M8 5v3.2l2 1.3",
  single: "M3.5 8.5l3 3l6-7",
  double: "M1.5 8.5l3 3l6-7M7.5 11.2l.4.3l6-7",
  failed: "M8 3v6M8 11.5v1",
} as const;

function icon(name: keyof typeof ICONS): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", `tick tick-${name}`);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

/** `container`: the list the messages go in; `log`: the focusable, scrolling region around it. */
export function createMessageList(container: HTMLOListElement, log: HTMLElement, me: string, actions: ListActions) {
  const entries: Entry[] = [];
  const keys: number[] = [];
  const byClient = new Map<string, Entry>();
  const bySeq = new Map<number, Entry>();
  let peerReadUpTo = 0;
  /** Shown as "waiting for the connection" rather than "sending" while offline. */
  let connected = true;
  let openMenu: { menu: HTMLElement; button: HTMLButtonElement; li: HTMLLIElement } | undefined;

  const keyOf = (item: Item) => item.seq ?? PENDING;
  const dayOf = (item: Item) => new Date(item.at).toDateString();

  function state(item: Item): { name: string; label: string; icon: keyof typeof ICONS } {
    if (item.state === "failed") return { name: "failed", label: "Not sent", icon: "failed" };
    if (item.state === "sending" || item.seq === undefined)
      return connected
        ? { name: "sending", label: "Sending…", icon: "clock" }
        : { name: "waiting", label: "Waiting for connection", icon: "clock" };
    return item.seq <= peerReadUpTo
      ? { name: "read", label: "Read", icon: "double" }
      : { name: "sent", label: "Sent", icon: "single" };
  }

  function draw(item: Item): HTMLLIElement {
    const mine = item.from === me;
    const li = el("li", `msg ${mine ? "msg-me" : "msg-them"}${item.state === "failed" ? " msg-failed" : ""}`);
    li.tabIndex = -1;
    li.dataset.client = item.clientId;
    if (item.seq !== undefined) li.dataset.seq = String(item.seq);
    const bubble = el("div", "bubble");
    const placeholder = item.deleted ? "Message deleted" : item.unreadable ? "This message could not be read" : undefined;
    const text = el("p", placeholder ? "text text-deleted" : "text");
    if (placeholder) text.textContent = placeholder;
    for (const segment of placeholder ? [] : linkify(item.text)) {
      if (!segment.href) {
        text.append(segment.text);
        continue;
      }
      const a = el("a", undefined, segment.text);
      a.href = segment.href;
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      a.tabIndex = -1;
      text.append(a);
    }
    const meta = el("span", "meta");
    const time = el("time", undefined, timeLabel(new Date(item.at)));
    time.dateTime = item.at;
    time.title = new Date(item.at).toLocaleString();
    meta.append(time);
    if (item.editedAt && !item.deleted) meta.append(el("span", "edited", " · edited"));
    if (mine) {
      const s = state(item);
      const badge = el("span", `state state-${s.name}`);
      badge.append(icon(s.icon), el("span", "visually-hidden", ` ${s.label}`));
      badge.title = s.label;
      meta.append(badge);
    }
    bubble.append(text, meta);
    const quote = item.replyTo && !placeholder ? actions.quote?.({ ...item, replyTo: item.replyTo }) : undefined;
    if (quote) bubble.prepend(quote);
    if (item.attachment && !placeholder) {
      text.hidden = item.text === "";
      actions.decorate?.({ ...item, attachment: item.attachment }, bubble);
    }
    const above = actions.above?.(item);
    if (above) li.append(above);
    li.append(bubble);
    const under = placeholder ? undefined : actions.under?.(item);
    if (under) li.append(under);
    if (item.state === "failed") li.append(failedActions(item));
    else if (item.seq !== undefined && !item.deleted && !item.unreadable) li.append(menuButton(item));
    if (item.failure) li.append(el("p", "failure", item.failure));
    return li;
  }

  function failedActions(item: Item): HTMLElement {
    const bar = el("div", "msg-actions");
    for (const [label, run] of [
      ["Retry", () => actions.retry(item)],
      ["Discard", () => actions.discard(item)],
    ] as const) {
      const b = el("button", "link-button small", label);
      b.type = "button";
      b.addEventListener("click", run);
      bar.append(b);
    }
    return bar;
  }

  function menuButton(item: Item): HTMLButtonElement {
    const b = el("button", "msg-menu-button", "⋯");
    b.type = "button";
    // Reached by the arrow keys (then Enter), not by Tab: one tab stop for the whole list.
    b.tabIndex = -1;
    b.setAttribute("aria-label", "Message actions");
    b.setAttribute("aria-haspopup", "menu");
    b.setAttribute("aria-expanded", "false");
    b.addEventListener("click", (event) => {
      event.stopPropagation();
      const current = byClient.get(item.clientId);
      if (current) toggleMenu(current);
    });
    return b;
  }

  function closeMenu(focusBack = true): void {
    if (!openMenu) return;
    const { menu, button, li } = openMenu;
    openMenu = undefined;
    menu.remove();
    button.setAttribute("aria-expanded", "false");
    if (focusBack) li.focus();
  }

  function toggleMenu(entry: Entry): void {
    const wasOpen = openMenu?.li === entry.li;
    closeMenu(false);
    if (wasOpen) return entry.li.focus();
    const button = entry.li.querySelector<HTMLButtonElement>(".msg-menu-button");
    if (!button) return;
    const item = entry.item;
    const menu = el("div", "msg-menu");
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", "Message actions");
    const choices: Array<[string, () => void]> = [
      ...(item.seq !== undefined ? (actions.choices?.({ ...item, seq: item.seq }) ?? []) : []),
      ["Copy text", () => void navigator.clipboard?.writeText(item.text)],
    ];
    // An attachment's caption cannot be edited (the server refuses it): only deleted.
    if (item.from === me && !item.attachment) choices.push(["Edit", () => startEdit(entry)]);
    if (item.from === me) choices.push(["Delete", () => actions.remove(item)]);
    for (const [label, run] of choices) {
      const b = el("button", "msg-menu-item", label);
      b.type = "button";
      b.setAttribute("role", "menuitem");
      b.tabIndex = -1;
      b.addEventListener("click", (event) => {
        event.stopPropagation();
        closeMenu(label !== "Edit");
        run();
      });
      menu.append(b);
    }
    menu.addEventListener("keydown", (event) => {
      const items = [...menu.querySelectorAll<HTMLButtonElement>("[role=menuitem]")];
      const at = items.indexOf(document.activeElement as HTMLButtonElement);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        event.stopPropagation();
        const next = (at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
        items[next]?.focus();
      } else if (event.key === "Escape" || event.key === "Tab") {
        event.preventDefault();
        event.stopPropagation();
        closeMenu();
      }
    });
    entry.li.append(menu);
    button.setAttribute("aria-expanded", "true");
    openMenu = { menu, button, li: entry.li };
    menu.querySelector<HTMLButtonElement>("[role=menuitem]")?.focus();
  }

  /** In-place edit: the bubble's text becomes a text box; Enter saves, Escape cancels. */
  function startEdit(entry: Entry): void {
    const item = entry.item;
    const bubble = entry.li.querySelector(".bubble");
    const text = bubble?.querySelector(".text");
    if (!bubble || !text) return;
    const form = el("form", "msg-edit");
    const box = el("textarea");
    box.value = item.text;
    box.setAttribute("aria-label", "Edit message");
    box.maxLength = Number(container.dataset.maxLength ?? 4000);
    const save = el("button", "button button-small", "Save");
    save.type = "submit";
    const cancel = el("button", "button button-ghost button-small", "Cancel");
    cancel.type = "button";
    const buttons = el("div", "msg-edit-buttons");
    buttons.append(cancel, save);
    form.append(box, buttons);
    text.replaceWith(form);
    entry.li.classList.add("msg-editing");
    const finish = () => {
      const current = byClient.get(item.clientId);
      if (current) redraw(current);
      byClient.get(item.clientId)?.li.focus();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = box.value;
      if (value.trim() && value !== item.text) actions.edit(item, value);
      finish();
    });
    cancel.addEventListener("click", finish);
    box.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key === "Escape") {
        event.preventDefault();
        finish();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  /** The day separator and grouping of the entry at `index` (they depend on the one before). */
  function decorate(index: number): void {
    const entry = entries[index];
    if (!entry) return;
    const previous = entries[index - 1];
    const day = dayOf(entry.item);
    const newDay = !previous || dayOf(previous.item) !== day;
    if (newDay && !entry.dayLi) {
      entry.dayLi = el("li", "day", dayLabel(new Date(entry.item.at)));
      container.insertBefore(entry.dayLi, entry.li);
    } else if (!newDay && entry.dayLi) {
      entry.dayLi.remove();
      entry.dayLi = undefined;
    }
    const grouped =
      !newDay &&
      previous !== undefined &&
      previous.item.from === entry.item.from &&
      new Date(entry.item.at).getTime() - new Date(previous.item.at).getTime() < GROUP_MS;
    entry.li.classList.toggle("msg-grouped", grouped);
  }

  function insert(entry: Entry): void {
    const index = insertionIndex(keys, keyOf(entry.item));
    const next = entries[index];
    container.insertBefore(entry.li, next ? (next.dayLi ?? next.li) : null);
    entries.splice(index, 0, entry);
    keys.splice(index, 0, keyOf(entry.item));
    index2maps(entry);
    decorate(index);
    decorate(index + 1);
  }

  function index2maps(entry: Entry): void {
    byClient.set(entry.item.clientId, entry);
    if (entry.item.seq !== undefined) bySeq.set(entry.item.seq, entry);
  }

  function removeAt(index: number): void {
    const [entry] = entries.splice(index, 1);
    keys.splice(index, 1);
    if (!entry) return;
    if (openMenu?.li === entry.li) closeMenu(false);
    entry.li.remove();
    entry.dayLi?.remove();
    byClient.delete(entry.item.clientId);
    if (entry.item.seq !== undefined && bySeq.get(entry.item.seq) === entry) bySeq.delete(entry.item.seq);
    decorate(index);
  }

  function redraw(entry: Entry): void {
    const fresh = draw(entry.item);
    // Grouping was set by decorate() and depends on the neighbours, not on this message's change.
    fresh.classList.toggle("msg-grouped", entry.li.classList.contains("msg-grouped"));
    const hadFocus = entry.li.contains(document.activeElement);
    // A receipt or a reaction redraws a message while its menu may be open: the menu moves to
    // the new drawing, on the same choice, instead of vanishing under the user's finger.
    const menuWasOpen = openMenu?.li === entry.li;
    const focusedChoice = menuWasOpen ? openMenu?.menu.querySelector(":focus")?.textContent : undefined;
    if (menuWasOpen) closeMenu(false);
    entry.li.replaceWith(fresh);
    entry.li = fresh;
    if (menuWasOpen) {
      toggleMenu(entry);
      const again = [...(openMenu?.menu.querySelectorAll<HTMLButtonElement>("[role=menuitem]") ?? [])];
      again.find((b) => b.textContent === focusedChoice)?.focus();
      if (!fresh.contains(document.activeElement) && hadFocus) fresh.focus();
    } else if (hadFocus) fresh.focus();
  }

  // One tab stop: arrows move between messages, Enter or the menu key opens a message's actions.
  log.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLTextAreaElement) return;
    const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLLIElement>("li.msg");
    const index = focused ? entries.findIndex((e) => e.li === focused) : -1;
    if (event.key === "ArrowUp" || event.key === "ArrowDown") {
      if (openMenu) return;
      event.preventDefault();
      const target =
        index === -1
          ? entries[entries.length - 1]
          : entries[Math.max(0, Math.min(entries.length - 1, index + (event.key === "ArrowUp" ? -1 : 1)))];
      target?.li.focus();
    } else if (
      (event.key === "Enter" || event.key === "ContextMenu" || (event.key === "F10" && event.shiftKey)) &&
      index !== -1
    ) {
      const entry = entries[index];
      if (entry && document.activeElement === entry.li) {
        event.preventDefault();
        toggleMenu(entry);
      }
    } else if (event.key === "Escape" && openMenu) {
      event.preventDefault();
      closeMenu();
    }
  });
  document.addEventListener(
    "click",
    (event) => {
      if (openMenu && !openMenu.menu.contains(event.target as Node)) closeMenu(false);
    },
    { signal: actions.signal },
  );

  return {
    /** Adds or replaces a message (matched by client id: a pending one becomes the stored one). */
    upsert(item: Item): void {
      const existing = byClient.get(item.clientId);
      const merged = existing ? { ...existing.item, ...item } : item;
      if (existing && keyOf(existing.item) === keyOf(merged) && dayOf(existing.item) === dayOf(merged)) {
        existing.item = merged;
        index2maps(existing);
        redraw(existing);
        return;
      }
      if (existing) removeAt(entries.indexOf(existing));
      insert({ item: merged, li: draw(merged) });
    },
    /** Every message on screen, oldest first. */
    items(): Item[] {
      return entries.map((e) => e.item);
    },
    bySeq(seq: number): Item | undefined {
      return bySeq.get(seq)?.item;
    },
    has(clientId: string): boolean {
      return byClient.has(clientId);
    },
    drop(clientId: string): void {
      const entry = byClient.get(clientId);
      if (entry) removeAt(entries.indexOf(entry));
    },
    /** Drops up to `count` stored messages from the old (top) or new (bottom) end. */
    trim(count: number, end: "oldest" | "newest"): void {
      for (let i = 0; i < count; i++) {
        const index = end === "oldest" ? 0 : entries.findLastIndex((e) => e.item.seq !== undefined);
        if (index < 0 || entries[index]?.item.seq === undefined) return;
        removeAt(index);
      }
    },
    /** Removes every stored message (pending ones stay): before jumping to the newest page. */
    clearStored(): void {
      for (let i = entries.length - 1; i >= 0; i--) if (entries[i]?.item.seq !== undefined) removeAt(i);
    },
    get size() {
      return entries.length;
    },
    setPeerRead(seq: number): void {
      if (seq <= peerReadUpTo) return;
      const before = peerReadUpTo;
      peerReadUpTo = seq;
      for (const entry of entries) {
        if (entry.item.from !== me || entry.item.seq === undefined) continue;
        if (entry.item.seq > before && entry.item.seq <= seq) redraw(entry);
      }
    },
    setConnected(value: boolean): void {
      if (value === connected) return;
      connected = value;
      for (const entry of entries) if (entry.item.seq === undefined && entry.item.state !== "failed") redraw(entry);
    },
    oldestSeq(): number | undefined {
      return entries.find((e) => e.item.seq !== undefined)?.item.seq;
    },
    newestSeq(): number | undefined {
      return entries.findLast((e) => e.item.seq !== undefined)?.item.seq;
    },
    closeMenu,
  };
}
export type MessageList = ReturnType<typeof createMessageList>;
