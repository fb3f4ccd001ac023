/**
 * The message list in the DOM. Text is only ever inserted as text nodes (links are built as
 * elements from http(s) URLs), so nothing a user types can become HTML.
 */
import type { AttachmentInfo } from "../chat/protocol.js";
import { dayLabel, linkify, timeLabel } from "./format.js";

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
};

export type ListActions = {
  edit(item: Item): void;
  remove(item: Item): void;
  retry(item: Item): void;
  discard(item: Item): void;
  /** Adds what the bubble of a message with an attachment shows (attachment-view.ts). */
  decorate?(item: Item & { attachment: AttachmentInfo }, bubble: HTMLElement): void;
};

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

export function createMessageList(container: HTMLOListElement, me: string, actions: ListActions) {
  const byClient = new Map<string, { item: Item; li: HTMLLIElement }>();
  let peerReadUpTo = 0;

  const orderOf = (item: Item) => item.seq ?? Number.MAX_SAFE_INTEGER;

  function stateText(item: Item): string {
    if (item.state === "failed") return "Not sent";
    if (item.state === "sending" || item.seq === undefined) return "Sending…";
    return item.seq <= peerReadUpTo ? "Read" : "Sent";
  }

  function draw(item: Item): HTMLLIElement {
    const mine = item.from === me;
    const li = el("li", `msg ${mine ? "msg-me" : "msg-them"}${item.state === "failed" ? " msg-failed" : ""}`);
    li.dataset.client = item.clientId;
    if (item.seq !== undefined) li.dataset.seq = String(item.seq);
    li.dataset.day = new Date(item.at).toDateString();
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
      text.append(a);
    }
    const meta = el("span", "meta");
    const time = el("time", undefined, timeLabel(new Date(item.at)));
    time.dateTime = item.at;
    meta.append(time);
    if (item.editedAt && !item.deleted) meta.append(el("span", "edited", " · edited"));
    if (mine) meta.append(el("span", `state state-${stateText(item).toLowerCase().replace(/\W/g, "")}`, ` · ${stateText(item)}`));
    bubble.append(text, meta);
    if (item.attachment && !placeholder) {
      text.hidden = item.text === "";
      actions.decorate?.({ ...item, attachment: item.attachment }, bubble);
    }
    li.append(bubble);
    if (mine && !item.deleted && !item.unreadable) li.append(actionsFor(item));
    if (item.failure) li.append(el("p", "failure", item.failure));
    return li;
  }

  function actionsFor(item: Item): HTMLElement {
    const bar = el("div", "msg-actions");
    const button = (label: string, run: () => void) => {
      const b = el("button", "link-button small", label);
      b.type = "button";
      b.addEventListener("click", run);
      bar.append(b);
    };
    if (item.state === "failed") {
      button("Retry", () => actions.retry(item));
      button("Discard", () => actions.discard(item));
    } else if (item.seq !== undefined) {
      if (!item.attachment) button("Edit", () => actions.edit(item));
      button("Delete", () => actions.remove(item));
    }
    return bar;
  }

  function place(li: HTMLLIElement, item: Item): void {
    const after = [...container.querySelectorAll<HTMLLIElement>("li.msg")].find((other) => {
      const seq = other.dataset.seq ? Number(other.dataset.seq) : Number.MAX_SAFE_INTEGER;
      return seq > orderOf(item);
    });
    container.insertBefore(li, after ?? null);
  }

  function separators(): void {
    for (const old of container.querySelectorAll("li.day")) old.remove();
    let previous = "";
    for (const li of container.querySelectorAll<HTMLLIElement>("li.msg")) {
      const day = li.dataset.day ?? "";
      if (day !== previous) container.insertBefore(el("li", "day", dayLabel(new Date(day))), li);
      previous = day;
    }
  }

  return {
    /** Adds or replaces a message (matched by client id: a pending one becomes the stored one). */
    upsert(item: Item, { silent = false } = {}): void {
      const existing = byClient.get(item.clientId);
      const merged = existing ? { ...existing.item, ...item } : item;
      const li = draw(merged);
      if (existing && existing.item.seq === merged.seq) existing.li.replaceWith(li);
      else {
        existing?.li.remove();
        place(li, merged);
      }
      byClient.set(merged.clientId, { item: merged, li });
      if (!silent) separators();
    },
    bySeq(seq: number): Item | undefined {
      return [...byClient.values()].find((entry) => entry.item.seq === seq)?.item;
    },
    drop(clientId: string): void {
      byClient.get(clientId)?.li.remove();
      byClient.delete(clientId);
      separators();
    },
    refresh: separators,
    setPeerRead(seq: number): void {
      if (seq <= peerReadUpTo) return;
      peerReadUpTo = seq;
      for (const entry of byClient.values()) {
        if (entry.item.from !== me || entry.item.seq === undefined) continue;
        const fresh = draw(entry.item);
        entry.li.replaceWith(fresh);
        entry.li = fresh;
      }
    },
    oldestSeq(): number | undefined {
      const first = container.querySelector<HTMLLIElement>("li.msg[data-seq]");
      return first?.dataset.seq ? Number(first.dataset.seq) : undefined;
    },
  };
}
export type MessageList = ReturnType<typeof createMessageList>;
