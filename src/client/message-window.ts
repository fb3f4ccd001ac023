/**
 * Which part of the room's history is on screen, and where a message goes. History is paged in by
 * number in both directions as the reader scrolls, with at most MAX_RENDERED messages in the DOM
 * (room-state.ts `overflow` says which end to drop). Live messages join the list while its newest
 * end is on screen; after reading far back they wait in a bounded buffer, counted on the "jump to
 * the newest" button, and go in when the reader comes back. A quoted message or a search result
 * can be shown by number, reading its part of history. A change to a message (edit, deletion,
 * reaction) reaches it wherever it is: on screen, buffered, or quoted by a reply.
 */
import { quoteOf, type PlainMessage } from "../chat/protocol.js";
import { partsOf } from "./dom.js";
import type { Item, MessageList } from "./render.js";
import { requote } from "./reply-view.js";
import { overflow, type RoomPosition } from "./room-state.js";
import { firstUnread, newMessagesMarker } from "./unread.js";

/** At most this many messages are in the DOM; older or newer ones are paged back in on scroll. */
const MAX_RENDERED = 300;
const PAGE = 50;
/** Live messages kept while the newest ones are not on screen (read from history past this). */
const MAX_BUFFERED = 500;

/** What an edit, a deletion or a reaction changes in a message. */
export type MessageChange = Partial<Pick<PlainMessage, "text" | "editedAt" | "unreadable" | "deleted" | "reactions">>;

type Page = { messages: PlainMessage[]; hasMore: boolean; upTo: number };

export type MessageWindow = ReturnType<typeof createMessageWindow>;

export function createMessageWindow(deps: {
  root: HTMLElement;
  roomId: string;
  me: string;
  list: MessageList;
  position: RoomPosition;
  /** The line under the composer, for what could not be shown. */
  note(text: string): void;
  /** The reader moved (scrolled, paged in, jumped): what is on screen may now be read. */
  moved(): void;
}) {
  const { root, roomId, me, list, position } = deps;
  const part = partsOf(root, "chat page");
  /** The scrolling log; the list of messages inside it. */
  const messages = part<HTMLElement>("#messages");
  const messageList = part<HTMLOListElement>("#message-list");
  const jump = part<HTMLButtonElement>("#jump-latest");
  const jumpCount = part<HTMLElement>("#jump-count");
  const empty = part<HTMLElement>("#chat-empty");

  let hasOlder = true;
  /** The newest messages are on screen (false after reading far back: live ones wait in `buffered`). */
  let atEdge = true;
  const buffered: PlainMessage[] = [];
  let unseen = 0;
  let loading = false;
  /** The first of the other member's messages not yet read when the page opened: the marker goes above it. */
  let markerAt: number | undefined;
  let markerCount = 0;

  const nearBottom = () => messages.scrollHeight - messages.scrollTop - messages.clientHeight < 120;
  const toBottom = () => (messages.scrollTop = messages.scrollHeight);
  const rowOf = (seq: number) => messageList.querySelector<HTMLElement>(`li[data-seq="${seq}"]`);
  // A quote the server could not fill (a message settled late) is filled from what the page holds.
  const fromServer = (m: PlainMessage): Item => {
    const original = m.replyTo && m.replyTo.from === undefined ? list.bySeq(m.replyTo.seq) : undefined;
    return { ...m, ...(m.replyTo && original ? { replyTo: quoteOf(m.replyTo.seq, original) } : {}), state: "sent" };
  };
  /** The list reaches the newest again: what waited while the reader was away goes in. */
  const drainBuffered = (): void => {
    const newest = list.newestSeq() ?? 0;
    for (const m of buffered.splice(0)) if (m.seq > newest) list.upsert(fromServer(m));
  };

  /**
   * Runs a change to the list keeping what the reader looks at in the same place on screen. Its
   * cost is recorded as a "duet:page" performance measure (the 10,000-message e2e prints it).
   */
  function keepingView(change: () => void): void {
    const started = performance.now();
    const top = messages.getBoundingClientRect().top;
    const anchor = [...messages.querySelectorAll<HTMLElement>("li.msg")].find((li) => li.getBoundingClientRect().bottom > top);
    const before = anchor?.getBoundingClientRect().top ?? 0;
    change();
    if (anchor?.isConnected) messages.scrollTop += anchor.getBoundingClientRect().top - before;
    performance.measure("duet:page", { start: started, end: performance.now() });
  }

  async function fetchPage(query: string): Promise<Page> {
    const res = await fetch(`/api/rooms/${roomId}/messages?limit=${PAGE}${query}`, { headers: { Accept: "application/json" } });
    if (!res.ok) throw new Error(String(res.status));
    return (await res.json()) as Page;
  }

  /** The newest page: on opening, and when jumping back from far up. */
  async function loadNewest(): Promise<void> {
    const page = await fetchPage("");
    list.clearStored();
    for (const m of page.messages) {
      list.upsert(fromServer(m));
      position.received(m.seq);
    }
    hasOlder = page.hasMore;
    atEdge = true;
    drainBuffered();
    toBottom();
  }

  async function loadOlder(): Promise<void> {
    const before = list.oldestSeq();
    if (loading || !hasOlder || before === undefined) return;
    loading = true;
    try {
      const page = await fetchPage(`&before=${before}`);
      keepingView(() => {
        for (const m of page.messages) list.upsert(fromServer(m));
        const { dropNewest } = overflow(list.size, MAX_RENDERED, "older");
        if (dropNewest > 0) {
          list.trim(dropNewest, "newest");
          atEdge = false;
        }
      });
      hasOlder = page.hasMore;
    } finally {
      loading = false;
    }
  }

  async function loadNewer(): Promise<void> {
    const after = list.newestSeq();
    if (loading || atEdge || after === undefined) return;
    loading = true;
    try {
      const page = await fetchPage(`&after=${after}`);
      keepingView(() => {
        for (const m of page.messages) list.upsert(fromServer(m));
        if (!page.hasMore) {
          atEdge = true;
          drainBuffered();
        }
        const extra = list.size - MAX_RENDERED;
        if (extra > 0) {
          list.trim(extra, "oldest");
          hasOlder = true;
        }
      });
    } finally {
      loading = false;
    }
    showJump();
    deps.moved();
  }

  /**
   * Shows message `seq` (a quoted message, a search result): in place if it is on screen, else its
   * part of history, read by number around it (older and newer pages, as scrolling reads them).
   * `mark` outlines it: briefly for a quote, until the next result for a search.
   */
  async function jumpTo(seq: number, mark: "msg-target" | "msg-found" = "msg-target"): Promise<void> {
    let li = rowOf(seq);
    if (!li) {
      if (loading) return;
      loading = true;
      try {
        const [older, newer] = await Promise.all([fetchPage(`&before=${seq + 1}`), fetchPage(`&after=${seq}`)]);
        if (!older.messages.some((m) => m.seq === seq)) return deps.note("That message is no longer in this conversation.");
        list.clearStored();
        for (const m of [...older.messages, ...newer.messages]) list.upsert(fromServer(m));
        hasOlder = older.hasMore;
        atEdge = !newer.hasMore;
        if (atEdge) {
          for (const m of newer.messages) position.received(m.seq);
          drainBuffered();
        }
      } catch {
        return deps.note("That message can't be loaded right now.");
      } finally {
        loading = false;
      }
      li = rowOf(seq);
    }
    for (const old of messageList.querySelectorAll(`.${mark}`)) old.classList.remove(mark);
    if (!li) return;
    const shown = li;
    shown.classList.add(mark);
    shown.scrollIntoView({ block: "center" });
    shown.focus({ preventScroll: true });
    if (mark === "msg-target") window.setTimeout(() => shown.classList.remove(mark), 2000);
    showJump();
  }

  function showJump(): void {
    empty.hidden = list.size > 0 || root.dataset.loaded !== "true";
    const away = !atEdge || !nearBottom();
    jump.hidden = !away;
    jumpCount.textContent = unseen > 0 ? String(unseen) : "";
    jumpCount.hidden = unseen === 0;
    jump.setAttribute("aria-label", unseen > 0 ? `Jump to the newest messages (${unseen} new)` : "Jump to the newest messages");
    if (!away) unseen = 0;
  }

  /** Replies quoting message `seq` show what it says now (on screen and kept for later). */
  function requoteReplies(seq: number, change: Parameters<typeof requote>[2]): void {
    const original = list.bySeq(seq);
    for (const reply of list.items())
      if (reply.replyTo?.seq === seq) list.upsert({ ...reply, replyTo: requote(reply.replyTo, original, change) });
    for (const reply of buffered) if (reply.replyTo?.seq === seq) reply.replyTo = requote(reply.replyTo, undefined, change);
  }

  messages.addEventListener("scroll", () => {
    if (messages.scrollTop < 200) void loadOlder();
    if (messages.scrollHeight - messages.scrollTop - messages.clientHeight < 200) void loadNewer();
    showJump();
    if (nearBottom()) deps.moved();
  });
  jump.addEventListener("click", () => {
    unseen = 0;
    if (atEdge) toBottom();
    else void loadNewest().then(showJump);
    showJump();
    messages.focus();
  });

  return {
    /** Whether the newest messages are on screen (else reading far back). */
    get atEdge(): boolean {
      return atEdge;
    },
    jumpTo,
    showJump,
    toBottom,
    /** Puts the newest messages on screen (a message is being sent from far up). */
    showNewest(): void {
      if (!atEdge) void loadNewest();
    },
    /** Opens at the newest page, with "New messages" above the first unread one of the other member's. */
    async open(readUpTo: number): Promise<void> {
      await loadNewest();
      const unread = firstUnread(messageList, readUpTo);
      if (!unread) return;
      markerAt = unread.seq;
      markerCount = unread.count;
      const item = list.bySeq(unread.seq);
      if (item) list.upsert(item);
      const li = rowOf(unread.seq);
      if (li && li.offsetTop < messages.scrollTop) li.scrollIntoView({ block: "start" });
    },
    /** What the list draws above a message: the "new messages" marker, once. */
    above: (item: Item): HTMLElement | undefined =>
      item.seq !== undefined && item.seq === markerAt ? newMessagesMarker(markerCount) : undefined,
    /** A message that belongs at the live edge: on screen if the edge is, else kept for later. */
    arrived(m: PlainMessage): void {
      if (atEdge) {
        const stick = nearBottom();
        list.upsert(fromServer(m));
        if (stick) {
          list.trim(overflow(list.size, MAX_RENDERED, "newest").dropOldest, "oldest");
          if (list.size >= MAX_RENDERED) hasOlder = true;
          toBottom();
        } else if (m.from !== me) unseen++;
      } else {
        buffered.push(m);
        if (buffered.length > MAX_BUFFERED) buffered.shift();
        if (m.from !== me) unseen++;
      }
    },
    /** One of ours stored as `mine.seq`: shown sent where it was pending, or kept for later. */
    acked(mine: PlainMessage): void {
      if (atEdge) {
        const stick = nearBottom();
        list.upsert({ ...mine, state: "sent" });
        if (stick) toBottom();
      } else {
        list.drop(mine.clientId);
        buffered.push(mine);
      }
    },
    /** Message `seq` changed: on screen and kept for later alike. */
    changed(seq: number, change: (current: Pick<Item, "reactions">) => MessageChange): void {
      const item = list.bySeq(seq);
      if (item) list.upsert({ ...item, ...change(item) });
      const kept = buffered.find((b) => b.seq === seq);
      if (kept) Object.assign(kept, change(kept));
    },
    requoteReplies,
    /** An item as the list draws it, from a message of the server's. */
    fromServer,
  };
}
