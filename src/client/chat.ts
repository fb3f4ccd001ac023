/**
 * The chat page: history paged by number in both directions with a bounded DOM, live messages,
 * an offline queue with visible waiting / sent / read states, a connection banner, typing and
 * read receipts, presence, in-place edit and delete with an in-app confirmation, a jump to the
 * newest with a count, drafts per conversation, opt-in notifications while the tab is hidden,
 * replies (a quote that jumps to the original, paging it in by number) and emoji reactions.
 * Bundled by esbuild into /static/js/chat.js.
 */
import { quoteOf, type PlainMessage, type Reaction, type ServerFrame } from "../chat/protocol.js";
import { createAttachmentComposer } from "./attachment-composer.js";
import { showAttachment } from "./attachment-view.js";
import { openEmojiPicker } from "./emoji-picker.js";
import { lastSeenLabel, lengthLabel, newClientId } from "./format.js";
import { createOutbox } from "./outbox.js";
import { createMessageList, type Item } from "./render.js";
import { drawReactions, reactedBy, withReaction } from "./reactions-view.js";
import { createReplyBar, drawQuote, quoteOfItem, requote } from "./reply-view.js";
import { createRoomPosition, overflow } from "./room-state.js";
import { setupSearch } from "./search.js";
import { announceMessage, firstUnread, newMessagesMarker } from "./unread.js";
import { connectChat, type SocketState, type StateInfo } from "./socket.js";
import { offerInConversation } from "./push.js";
import { required } from "./dom.js";
import { setupSwitching } from "./conversation-switch.js";

/** At most this many messages are in the DOM; older or newer ones are paged back in on scroll. */
const MAX_RENDERED = 300;
const PAGE = 50;
/** Live messages kept while the newest ones are not on screen (read from history past this). */
const MAX_BUFFERED = 500;

type Page = { messages: PlainMessage[]; hasMore: boolean; upTo: number };

const root = document.getElementById("chat");
if (root) setupSwitching(root, start);

/**
 * Runs the conversation in pane `root`; answers how to stop it (conversation-switch.ts swaps the
 * pane): its page-wide listeners and timers end at once and it sends nothing more; its socket
 * closes once `handOver` settles (the next conversation's socket is open, so the other members
 * never see this user go offline and back between two conversations), and nothing it still awaits
 * opens a socket afterwards.
 */
function start(root: HTMLElement): (handOver?: Promise<unknown>) => void {
  const lifetime = new AbortController();
  const { signal } = lifetime;
  const connection = new AbortController();
  const { room: roomId = "", me = "", peer = "", peerName = "them", closed } = root.dataset;
  const maxLength = Number(root.dataset.maxLength ?? 4000);
  const part = <T extends Element>(selector: string): T => required<T>(root, selector, "chat page");
  /** The scrolling log; the list of messages inside it. */
  const messages = part<HTMLElement>("#messages");
  const messageList = part<HTMLOListElement>("#message-list");
  const form = part<HTMLFormElement>("#composer");
  const input = part<HTMLTextAreaElement>("#composer-text");
  const banner = part<HTMLElement>("#connection");
  const bannerText = part<HTMLElement>("#connection-text");
  const retryButton = part<HTMLButtonElement>("#connection-retry");
  const typing = part<HTMLElement>("#typing");
  const presence = part<HTMLElement>("#presence");
  const notifyToggle = root.querySelector<HTMLButtonElement>("#notify-toggle");
  const composerNote = part<HTMLElement>("#composer-note");
  const counter = part<HTMLElement>("#composer-count");
  const jump = part<HTMLButtonElement>("#jump-latest");
  const jumpCount = part<HTMLElement>("#jump-count");
  const confirmDialog = part<HTMLDialogElement>("#confirm-delete");
  messageList.dataset.maxLength = String(maxLength);

  const announcer = part<HTMLElement>("#announcer");
  /** The first of the other member's messages not yet read when the page opened: the marker goes above it. */
  let markerAt: number | undefined;
  let markerCount = 0;
  const outbox = createOutbox(roomId);
  const position = createRoomPosition();
  // Live once the newest page of history is in (below); until then nothing can be sent.
  let socket: Pick<ReturnType<typeof connectChat>, "send" | "retryNow"> = { send: () => false, retryNow: () => undefined };
  let hasOlder = true;
  /** The newest messages are on screen (false after reading far back: live ones wait in `buffered`). */
  let atEdge = true;
  const buffered: PlainMessage[] = [];
  let unseen = 0;
  let loading = false;
  let typingTimer: number | undefined;
  let countdown: number | undefined;
  // After the server refuses a send (too fast, or storage down) nothing is sent until this time;
  // then the whole queue goes again, oldest first, so messages keep the order they were typed in.
  let holdUntil = 0;
  let flushTimer: number | undefined;
  let lastTypingSent = 0;

  const nearBottom = () => messages.scrollHeight - messages.scrollTop - messages.clientHeight < 120;
  const toBottom = () => (messages.scrollTop = messages.scrollHeight);
  const nameOf = (id: string | undefined) => (id === me ? "You" : id === peer ? peerName : "Someone");
  // A quote the server could not fill (a message settled late) is filled from what the page holds.
  const fromServer = (m: PlainMessage): Item => {
    const original = m.replyTo && m.replyTo.from === undefined ? list.bySeq(m.replyTo.seq) : undefined;
    return { ...m, ...(m.replyTo && original ? { replyTo: quoteOf(m.replyTo.seq, original) } : {}), state: "sent" };
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

  const list = createMessageList(messageList, messages, me, {
    above: (item) => (item.seq !== undefined && item.seq === markerAt ? newMessagesMarker(markerCount) : undefined),
    decorate: (item, bubble) => showAttachment(bubble, roomId, item, attachments.progressOf(item.clientId)),
    quote: (item) => drawQuote(item.replyTo, nameOf, (seq) => void jumpTo(seq)),
    under: (item) =>
      drawReactions(item.reactions, me, (emoji, on) => {
        if (item.seq !== undefined) react(item.seq, emoji, on);
      }),
    choices: (item) => [
      ["Reply", () => replyBar.start(quoteOfItem({ ...(list.bySeq(item.seq) ?? item), seq: item.seq }))],
      ["React…", () => pickReaction(item.seq)],
      ...(item.replyTo ? [["Go to replied message", () => void jumpTo(item.replyTo?.seq ?? 0)] as [string, () => void]] : []),
    ],
    edit(item, text) {
      if (item.seq !== undefined) socket.send({ type: "edit", seq: item.seq, text });
    },
    remove(item) {
      const focusBack = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
      confirmDialog.returnValue = "";
      confirmDialog.showModal();
      confirmDialog.addEventListener(
        "close",
        () => {
          if (confirmDialog.returnValue === "delete" && item.seq !== undefined) socket.send({ type: "delete", seq: item.seq });
          const li = item.seq !== undefined ? messageList.querySelector<HTMLElement>(`li[data-seq="${item.seq}"]`) : null;
          (li ?? focusBack ?? messages).focus();
        },
        { once: true },
      );
    },
    retry(item) {
      if (attachments.owns(item.clientId)) return attachments.retry(item.clientId);
      outbox.retry(item.clientId);
      list.upsert({ ...item, state: "sending", failure: undefined });
      flush();
    },
    discard(item) {
      if (attachments.owns(item.clientId)) return attachments.discard(item.clientId);
      outbox.remove(item.clientId);
      list.drop(item.clientId);
    },
    signal,
  });

  const attachments = createAttachmentComposer({
    root,
    form,
    input,
    roomId,
    me,
    maxBytes: Number(root.dataset.maxFileBytes ?? 0),
    send: (frame) => socket.send(frame),
    canSend: () => Date.now() >= holdUntil,
    show: (item) => list.upsert(item),
    drop: (clientId) => list.drop(clientId),
    signal,
  });

  const replyBar = createReplyBar(form, input, nameOf);

  /** Says the reaction; the page shows it when the server announces it (to every tab). */
  function react(seq: number, emoji: Reaction, on: boolean): void {
    if (!socket.send({ type: "react", seq, emoji, on })) note("You're offline: reactions go when you're back online.");
  }

  function pickReaction(seq: number): void {
    const li = messageList.querySelector<HTMLElement>(`li[data-seq="${seq}"]`);
    if (!li) return;
    const chosen = reactedBy(list.bySeq(seq)?.reactions, me);
    openEmojiPicker({
      mount: li,
      label: "Add a reaction",
      chosen,
      returnFocus: li,
      onPick: (emoji) => react(seq, emoji, !chosen.has(emoji)),
    });
  }

  // The composer's emoji button, before Send: it inserts where the cursor is.
  const emojiButton = document.createElement("button");
  emojiButton.type = "button";
  emojiButton.className = "button button-ghost emoji-button";
  emojiButton.textContent = "☺";
  emojiButton.setAttribute("aria-label", "Insert an emoji");
  emojiButton.title = "Insert an emoji";
  emojiButton.disabled = input.disabled;
  form.querySelector("button[type=submit]")?.before(emojiButton);
  emojiButton.addEventListener("click", () =>
    openEmojiPicker({
      mount: form,
      label: "Insert an emoji",
      returnFocus: emojiButton,
      onPick(emoji) {
        input.setRangeText(emoji, input.selectionStart, input.selectionEnd, "end");
        input.dispatchEvent(new Event("input"));
        input.focus();
      },
    }),
  );

  /**
   * Shows message `seq` (a quoted message, a search result): in place if it is on screen, else its
   * part of history, read by number around it (older and newer pages, as scrolling reads them).
   * `mark` outlines it: briefly for a quote, until the next result for a search.
   */
  async function jumpTo(seq: number, mark: "msg-target" | "msg-found" = "msg-target"): Promise<void> {
    let li = messageList.querySelector<HTMLElement>(`li[data-seq="${seq}"]`);
    if (!li) {
      if (loading) return;
      loading = true;
      try {
        const [older, newer] = await Promise.all([fetchPage(`&before=${seq + 1}`), fetchPage(`&after=${seq}`)]);
        if (!older.messages.some((m) => m.seq === seq)) return note("That message is no longer in this conversation.");
        list.clearStored();
        for (const m of [...older.messages, ...newer.messages]) list.upsert(fromServer(m));
        hasOlder = older.hasMore;
        atEdge = !newer.hasMore;
        if (atEdge) {
          for (const m of newer.messages) position.received(m.seq);
          const newest = list.newestSeq() ?? 0;
          for (const m of buffered.splice(0)) if (m.seq > newest) list.upsert(fromServer(m));
        }
      } catch {
        return note("That message can't be loaded right now.");
      } finally {
        loading = false;
      }
      li = messageList.querySelector<HTMLElement>(`li[data-seq="${seq}"]`);
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

  function showState(state: SocketState, info: StateInfo = {}): void {
    window.clearInterval(countdown);
    root.dataset.state = state;
    list.setConnected(state === "live");
    const queued = outbox.all().filter((o) => !o.failed).length;
    const waiting = queued ? ` ${queued === 1 ? "1 message is" : `${queued} messages are`} waiting to be sent.` : "";
    const text = () => {
      switch (state) {
        case "live":
          return "";
        case "connecting":
          return "Connecting…";
        case "offline":
          return info.detail ?? `You're offline. Messages you write are kept and go when you're back.${waiting}`;
        case "reconnecting": {
          const seconds = info.retryAt ? Math.max(0, Math.ceil((info.retryAt - Date.now()) / 1000)) : 0;
          return `${seconds > 0 ? `Connection lost. Reconnecting in ${seconds} s…` : "Reconnecting…"}${waiting}`;
        }
      }
    };
    bannerText.textContent = text();
    banner.hidden = state === "live";
    banner.dataset.kind = state;
    retryButton.hidden = state !== "reconnecting";
    if (state === "reconnecting" && info.retryAt) countdown = window.setInterval(() => (bannerText.textContent = text()), 1000);
  }

  function flush(): void {
    const wait = holdUntil - Date.now();
    if (wait > 0) {
      window.clearTimeout(flushTimer);
      flushTimer = window.setTimeout(flush, wait);
      return;
    }
    for (const item of outbox.all())
      if (!item.failed)
        socket.send({
          type: "send",
          clientId: item.clientId,
          text: item.text,
          ...(item.replyTo ? { replyTo: item.replyTo.seq } : {}),
        });
    attachments.resend();
  }

  function note(text: string): void {
    composerNote.textContent = text;
    composerNote.hidden = text === "";
  }

  function markRead(): void {
    if (document.visibilityState !== "visible" || !atEdge) return;
    const seq = position.toMarkRead();
    if (seq !== undefined && socket.send({ type: "read", seq })) position.readUpTo(seq);
  }

  function notify(item: Item): void {
    if (document.visibilityState === "visible" || !("Notification" in window) || Notification.permission !== "granted") return;
    const note = new Notification(peerName, { body: item.deleted ? "" : item.text.slice(0, 140), tag: roomId });
    note.addEventListener("click", () => window.focus());
  }

  const empty = part<HTMLElement>("#chat-empty");
  function showJump(): void {
    empty.hidden = list.size > 0 || root.dataset.loaded !== "true";
    const away = !atEdge || !nearBottom();
    jump.hidden = !away;
    jumpCount.textContent = unseen > 0 ? String(unseen) : "";
    jumpCount.hidden = unseen === 0;
    jump.setAttribute("aria-label", unseen > 0 ? `Jump to the newest messages (${unseen} new)` : "Jump to the newest messages");
    if (!away) unseen = 0;
  }

  /** A message that belongs at the live edge: on screen if the edge is, else kept for later. */
  function arrived(m: PlainMessage): void {
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
  }

  /** Replies quoting message `seq` show what it says now (on screen and kept for later). */
  function requoteReplies(seq: number, change: Parameters<typeof requote>[2]): void {
    const original = list.bySeq(seq);
    for (const reply of list.items())
      if (reply.replyTo?.seq === seq) list.upsert({ ...reply, replyTo: requote(reply.replyTo, original, change) });
    for (const reply of buffered) if (reply.replyTo?.seq === seq) reply.replyTo = requote(reply.replyTo, undefined, change);
  }

  function onFrame(frame: ServerFrame): void {
    // Stopped, the socket only waits for the next conversation's to be live (see the return below).
    if (signal.aborted) return;
    switch (frame.type) {
      case "ready":
        list.setPeerRead(frame.peerReadUpTo);
        position.readUpTo(frame.readUpTo);
        flush();
        break;
      case "ack": {
        const pending = outbox.all().find((o) => o.clientId === frame.clientId);
        outbox.remove(frame.clientId);
        const caption = attachments.acked(frame.clientId);
        if (Date.now() >= holdUntil) note("");
        position.acked(frame.seq);
        const mine = {
          clientId: frame.clientId,
          from: me,
          text: pending?.text ?? caption ?? "",
          at: frame.at,
          seq: frame.seq,
          ...(pending?.replyTo ? { replyTo: pending.replyTo } : {}),
        };
        if (atEdge) {
          const stick = nearBottom();
          list.upsert({ ...mine, state: "sent" });
          if (stick) toBottom();
        } else {
          list.drop(frame.clientId);
          buffered.push(mine);
        }
        break;
      }
      case "message": {
        position.received(frame.seq);
        const { type: _type, ...message } = frame;
        arrived(message);
        if (frame.from !== me) {
          // Only messages arriving now are read out: history is drawn with the log's announcements off.
          announceMessage(announcer, peerName, message);
          typing.textContent = "";
          notify(fromServer(message));
        }
        break;
      }
      case "edited": {
        const item = list.bySeq(frame.seq);
        if (item) list.upsert({ ...item, text: frame.text, editedAt: frame.at, unreadable: frame.unreadable });
        const kept = buffered.find((b) => b.seq === frame.seq);
        if (kept) Object.assign(kept, { text: frame.text, editedAt: frame.at });
        requoteReplies(frame.seq, { text: frame.text, unreadable: frame.unreadable });
        break;
      }
      case "deleted": {
        const item = list.bySeq(frame.seq);
        if (item) list.upsert({ ...item, text: "", deleted: true, reactions: undefined });
        const kept = buffered.find((b) => b.seq === frame.seq);
        if (kept) Object.assign(kept, { text: "", deleted: true, reactions: undefined });
        requoteReplies(frame.seq, "deleted");
        break;
      }
      case "reaction": {
        const item = list.bySeq(frame.seq);
        if (item) list.upsert({ ...item, reactions: withReaction(item.reactions, frame) });
        const kept = buffered.find((b) => b.seq === frame.seq);
        if (kept) kept.reactions = withReaction(kept.reactions, frame);
        break;
      }
      case "typing":
        typing.textContent = `${peerName} is typing…`;
        window.clearTimeout(typingTimer);
        typingTimer = window.setTimeout(() => (typing.textContent = ""), 3500);
        break;
      case "read":
        if (frame.from === peer) list.setPeerRead(frame.seq);
        break;
      case "presence":
        if (frame.userId === peer) presence.textContent = frame.online ? "online" : lastSeenLabel(frame.lastSeenAt);
        break;
      case "block":
        window.location.reload();
        break;
      case "error":
        // The other account was deleted since this page loaded: reload into the read-only room.
        if (frame.code === "peer_deleted") return window.location.reload();
        if (frame.clientId && frame.retryAfterMs !== undefined) {
          // Kept in the outbox; sent again (same id, in order) once the wait is over.
          holdUntil = Math.max(holdUntil, Date.now() + frame.retryAfterMs);
          if (frame.code !== "out_of_order") note(frame.message);
          flush();
        } else if (frame.clientId && attachments.failed(frame.clientId, frame.message)) {
          break;
        } else if (frame.clientId) {
          outbox.fail(frame.clientId, frame.message);
          const pending = outbox.all().find((o) => o.clientId === frame.clientId);
          if (pending)
            list.upsert({
              clientId: pending.clientId,
              from: me,
              text: pending.text,
              at: pending.at,
              state: "failed",
              failure: frame.message,
            });
        } else note(frame.message);
        break;
    }
    showJump();
    markRead();
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
    const newest = list.newestSeq() ?? 0;
    for (const m of buffered.splice(0)) if (m.seq > newest) list.upsert(fromServer(m));
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
          const newest = list.newestSeq() ?? 0;
          for (const m of buffered.splice(0)) if (m.seq > newest) list.upsert(fromServer(m));
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
    markRead();
  }

  messages.addEventListener("scroll", () => {
    if (messages.scrollTop < 200) void loadOlder();
    if (messages.scrollHeight - messages.scrollTop - messages.clientHeight < 200) void loadNewer();
    showJump();
    if (nearBottom()) markRead();
  });
  jump.addEventListener("click", () => {
    unseen = 0;
    if (atEdge) toBottom();
    else void loadNewest().then(showJump);
    showJump();
    messages.focus();
  });

  // Drafts are kept per conversation in this browser (cleared on sign-out with the rest).
  const draftKey = `duet:draft:${roomId}`;
  const saveDraft = () => {
    try {
      if (input.value) localStorage.setItem(draftKey, input.value);
      else localStorage.removeItem(draftKey);
    } catch {
      // Storage full or disabled: the draft lives as long as the page.
    }
  };
  const showCount = () => {
    counter.textContent = lengthLabel(input.value.length, maxLength);
    counter.hidden = counter.textContent === "";
    counter.classList.toggle("composer-count-full", input.value.length >= maxLength);
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attachments.sendTray();
    toBottom();
    const text = input.value;
    if (!text.trim()) return;
    const replyTo = replyBar.current;
    const item = { clientId: newClientId(), text, at: new Date().toISOString(), ...(replyTo ? { replyTo } : {}) };
    replyBar.stop();
    outbox.add(item);
    if (!atEdge) void loadNewest();
    list.upsert({ ...item, from: me, state: "sending" });
    input.value = "";
    saveDraft();
    showCount();
    toBottom();
    if (Date.now() >= holdUntil)
      socket.send({ type: "send", clientId: item.clientId, text, ...(replyTo ? { replyTo: replyTo.seq } : {}) });
    if (root.dataset.state !== "live") showState(root.dataset.state as SocketState);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    saveDraft();
    showCount();
    if (Date.now() - lastTypingSent > 2000 && socket.send({ type: "typing" })) lastTypingSent = Date.now();
  });
  retryButton.addEventListener("click", () => socket.retryNow());
  document.addEventListener("visibilitychange", markRead, { signal });

  if (notifyToggle) void offerInConversation(notifyToggle);

  try {
    const draft = localStorage.getItem(draftKey);
    if (draft && !closed) input.value = draft;
  } catch {
    // No storage: no drafts.
  }
  showCount();
  // A read-only room (the other account was deleted): history only, no socket, and whatever
  // was still queued for it is shown as not sent, with the reason.
  if (closed) for (const item of outbox.all()) outbox.fail(item.clientId, closed);
  for (const item of outbox.all())
    list.upsert({ ...item, from: me, state: item.failed ? "failed" : "sending", failure: item.failed });
  // Open at the newest page of history, then go live from its last number, so the socket sends
  // only what is newer (it used to replay up to 5,000 messages on every open). If the page
  // cannot be fetched, the socket's catch-up brings the recent messages instead.
  setupSearch({ root, roomId, me, peerName, jumpTo: (seq) => jumpTo(seq, "msg-found"), signal });
  void loadNewest()
    .then(() => {
      // "New messages" above the first unread one of the other member's, once, as the page opens.
      const unread = firstUnread(messageList, Number(root.dataset.readUpTo ?? 0));
      if (!unread) return;
      markerAt = unread.seq;
      markerCount = unread.count;
      const item = list.bySeq(unread.seq);
      if (item) list.upsert(item);
      const li = messageList.querySelector<HTMLElement>(`li[data-seq="${unread.seq}"]`);
      if (li && li.offsetTop < messages.scrollTop) li.scrollIntoView({ block: "start" });
    })
    .catch(() => undefined)
    .finally(() => {
      root.dataset.loaded = "true";
      showJump();
      if (!closed && !signal.aborted)
        socket = connectChat({
          roomId,
          lastSeq: () => position.resumeFrom,
          onFrame,
          onState: showState,
          signal: connection.signal,
        });
    });

  return (handOver = Promise.resolve()) => {
    lifetime.abort();
    void handOver.finally(() => connection.abort());
    socket = { send: () => false, retryNow: () => undefined };
    window.clearTimeout(typingTimer);
    window.clearTimeout(flushTimer);
    window.clearInterval(countdown);
    list.closeMenu(false);
  };
}
