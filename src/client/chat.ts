/**
 * The chat page: one conversation in its pane. It wires the parts and turns the server's frames
 * into what they change: which history is on screen (message-window.ts), the queue of messages
 * typed and their sending (outbox.ts, outbox-sender.ts), the connection and its banner (socket.ts,
 * connection-banner.ts), the text box (composer.ts), files (attachment-composer.ts), a message's
 * menu (message-actions.ts, reply-view.ts), typing and read receipts, presence, and notifications
 * while the tab is hidden (unread.ts). Its place in the room's numbers is room-state.ts's.
 * Bundled by esbuild into /static/js/chat.js.
 */
import type { ClientFrame, ServerFrame } from "../chat/protocol.js";
import { createAttachmentComposer } from "./attachment-composer.js";
import { showAttachment } from "./attachment-view.js";
import { setupComposer } from "./composer.js";
import { createConnectionBanner } from "./connection-banner.js";
import { setupSwitching } from "./conversation-switch.js";
import { partsOf } from "./dom.js";
import { lastSeenLabel, newClientId } from "./format.js";
import { createMessageActions } from "./message-actions.js";
import { createMessageWindow } from "./message-window.js";
import { createOutbox } from "./outbox.js";
import { createOutboxSender } from "./outbox-sender.js";
import { offerInConversation } from "./push.js";
import { drawReactions, withReaction } from "./reactions-view.js";
import { createMessageList } from "./render.js";
import { createReplyBar, drawQuote, quoteOfItem } from "./reply-view.js";
import { createRoomPosition } from "./room-state.js";
import { setupSearch } from "./search.js";
import { connectChat } from "./socket.js";
import { announceMessage, notifyInBackground } from "./unread.js";

const root = document.getElementById("chat");
if (root) setupSwitching(root, start);

/** The socket as the page uses it; one that sends nothing until the socket is opened, and after the pane stops. */
type Link = Pick<ReturnType<typeof connectChat>, "send" | "retryNow">;
const NOT_CONNECTED: Link = { send: () => false, retryNow: () => undefined };

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
  const part = partsOf(root, "chat page");
  const messages = part<HTMLElement>("#messages");
  const messageList = part<HTMLOListElement>("#message-list");
  const form = part<HTMLFormElement>("#composer");
  const input = part<HTMLTextAreaElement>("#composer-text");
  const typing = part<HTMLElement>("#typing");
  const presence = part<HTMLElement>("#presence");
  const notifyToggle = root.querySelector<HTMLButtonElement>("#notify-toggle");
  const composerNote = part<HTMLElement>("#composer-note");
  const announcer = part<HTMLElement>("#announcer");
  messageList.dataset.maxLength = String(Number(root.dataset.maxLength ?? 4000));

  const outbox = createOutbox(roomId);
  const position = createRoomPosition();
  // Live once the newest page of history is in (below); until then nothing can be sent.
  let socket: Link = NOT_CONNECTED;
  /** After a switch: this conversation's socket, for its files still on their way. */
  let finishing: Link = NOT_CONNECTED;
  let typingTimer: number | undefined;

  const sendFrame = (frame: ClientFrame): boolean => socket.send(frame);
  const nameOf = (id: string | undefined) => (id === me ? "You" : id === peer ? peerName : "Someone");
  const note = (text: string): void => {
    composerNote.textContent = text;
    composerNote.hidden = text === "";
  };

  // The list's callbacks run on draws and clicks, once every part below exists.
  const list = createMessageList(messageList, messages, me, {
    above: (item) => view.above(item),
    decorate: (item, bubble) => showAttachment(bubble, roomId, item, attachments.progressOf(item.clientId)),
    quote: (item) => drawQuote(item.replyTo, nameOf, (seq) => void view.jumpTo(seq)),
    under: (item) =>
      drawReactions(item.reactions, me, (emoji, on) => {
        if (item.seq !== undefined) actions.react(item.seq, emoji, on);
      }),
    choices: (item) => [
      ["Reply", () => replyBar.start(quoteOfItem({ ...(list.bySeq(item.seq) ?? item), seq: item.seq }))],
      ["React…", () => actions.pickReaction(item.seq)],
      ...(item.replyTo
        ? [["Go to replied message", () => void view.jumpTo(item.replyTo?.seq ?? 0)] as [string, () => void]]
        : []),
    ],
    edit(item, text) {
      if (item.seq !== undefined) socket.send({ type: "edit", seq: item.seq, text });
    },
    remove: (item) => actions.confirmDelete(item),
    retry(item) {
      if (attachments.owns(item.clientId)) return attachments.retry(item.clientId);
      list.upsert({ ...item, state: "sending", failure: undefined });
      sender.retry(item.clientId);
    },
    discard(item) {
      if (attachments.owns(item.clientId)) return attachments.discard(item.clientId);
      outbox.remove(item.clientId);
      list.drop(item.clientId);
    },
    signal,
  });
  const actions = createMessageActions({ root, me, bySeq: (seq) => list.bySeq(seq), send: sendFrame, note });
  const view = createMessageWindow({ root, roomId, me, list, position, note, moved: () => markRead() });
  const sender = createOutboxSender({
    outbox,
    send: sendFrame,
    resendOthers: () => attachments.resend(),
    note,
  });
  const attachments = createAttachmentComposer({
    root,
    form,
    input,
    roomId,
    me,
    maxBytes: Number(root.dataset.maxFileBytes ?? 0),
    send: (frame) => (signal.aborted ? finishing : socket).send(frame),
    canSend: sender.canSend,
    show: (item) => list.upsert(item),
    drop: (clientId) => list.drop(clientId),
    signal,
  });
  const replyBar = createReplyBar(form, input, nameOf);
  const banner = createConnectionBanner({
    root,
    waiting: () => outbox.all().filter((o) => !o.failed).length,
    retryNow: () => socket.retryNow(),
  });

  function markRead(): void {
    if (document.visibilityState !== "visible" || !view.atEdge) return;
    const seq = position.toMarkRead();
    if (seq !== undefined && socket.send({ type: "read", seq })) position.readUpTo(seq);
  }

  function onFrame(frame: ServerFrame): void {
    // Stopped, the socket waits for the next conversation's to be live, and for this one's files
    // still uploading or unacknowledged to be sent (see the return below): only they hear back.
    if (signal.aborted) return finishingFrame(frame);
    switch (frame.type) {
      case "ready":
        list.setPeerRead(frame.peerReadUpTo);
        position.readUpTo(frame.readUpTo);
        sender.flush();
        break;
      case "ack": {
        const pending = sender.acked(frame.clientId);
        const caption = attachments.acked(frame.clientId);
        position.acked(frame.seq);
        view.acked({
          clientId: frame.clientId,
          from: me,
          text: pending?.text ?? caption ?? "",
          at: frame.at,
          seq: frame.seq,
          ...(pending?.replyTo ? { replyTo: pending.replyTo } : {}),
        });
        break;
      }
      case "message": {
        position.received(frame.seq);
        const { type: _type, ...message } = frame;
        view.arrived(message);
        if (frame.from !== me) {
          // Only messages arriving now are read out: history is drawn with the log's announcements off.
          announceMessage(announcer, peerName, message);
          typing.textContent = "";
          notifyInBackground(view.fromServer(message), { peerName, roomId, withText: root.dataset.notifyText === "true" });
        }
        break;
      }
      case "edited":
        view.changed(frame.seq, () => ({ text: frame.text, editedAt: frame.at, unreadable: frame.unreadable }));
        view.requoteReplies(frame.seq, { text: frame.text, unreadable: frame.unreadable });
        break;
      case "deleted":
        view.changed(frame.seq, () => ({ text: "", deleted: true, reactions: undefined }));
        view.requoteReplies(frame.seq, "deleted");
        break;
      case "reaction":
        view.changed(frame.seq, (current) => ({ reactions: withReaction(current.reactions, frame) }));
        break;
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
        // Kept in the outbox; sent again (same id, in order) once the wait is over.
        if (frame.clientId && frame.retryAfterMs !== undefined)
          sender.holdBack(frame.retryAfterMs, frame.code === "out_of_order" ? "" : frame.message);
        else if (frame.clientId && attachments.failed(frame.clientId, frame.message)) break;
        else if (frame.clientId) {
          const pending = sender.failed(frame.clientId, frame.message);
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
    view.showJump();
    markRead();
  }

  setupComposer({
    root,
    roomId,
    closed,
    submit(text) {
      // Files sent while replying answer the same message as the text (each shows the quote).
      const replyTo = replyBar.current;
      if (attachments.sendTray(replyTo) > 0) replyBar.stop();
      view.toBottom();
      if (!text.trim()) return false;
      const item = { clientId: newClientId(), text, at: new Date().toISOString(), ...(replyTo ? { replyTo } : {}) };
      replyBar.stop();
      sender.add(item);
      view.showNewest();
      list.upsert({ ...item, from: me, state: "sending" });
      view.toBottom();
      banner.refresh();
      return true;
    },
    typing: () => socket.send({ type: "typing" }),
  });
  document.addEventListener("visibilitychange", markRead, { signal });
  if (notifyToggle) void offerInConversation(notifyToggle);

  // A read-only room (the other account was deleted): history only, no socket, and whatever
  // was still queued for it is shown as not sent, with the reason.
  if (closed) for (const item of outbox.all()) outbox.fail(item.clientId, closed);
  for (const item of outbox.all())
    list.upsert({ ...item, from: me, state: item.failed ? "failed" : "sending", failure: item.failed });
  setupSearch({ root, roomId, me, peerName, jumpTo: (seq) => view.jumpTo(seq, "msg-found"), signal });
  // Open at the newest page of history, then go live from its last number, so the socket sends
  // only what is newer (it used to replay up to 5,000 messages on every open). If the page
  // cannot be fetched, the socket's catch-up brings the recent messages instead.
  void view
    .open(Number(root.dataset.readUpTo ?? 0))
    .catch(() => undefined)
    .finally(() => {
      root.dataset.loaded = "true";
      view.showJump();
      // Files an earlier page sent and never heard back about go again (file-outbox.ts).
      if (!closed && !signal.aborted) void attachments.restore();
      if (!closed && !signal.aborted)
        socket = connectChat({
          roomId,
          lastSeq: () => position.resumeFrom,
          onFrame,
          onState: (state, info) => {
            banner.show(state, info);
            list.setConnected(state === "live");
          },
          signal: connection.signal,
          // Switched away with files still finishing here: they can no longer go, and the page,
          // now on another conversation, stays where it is.
          ended: () => {
            if (!signal.aborted) return false;
            attachments.abandonAll();
            return true;
          },
        });
    });

  function finishingFrame(frame: ServerFrame): void {
    if (frame.type === "ack") attachments.acked(frame.clientId);
    else if (frame.type === "ready") attachments.resend();
    else if (frame.type === "error" && frame.code === "peer_deleted") attachments.abandonAll();
    else if (frame.type === "error" && frame.clientId && attachments.owns(frame.clientId)) {
      if (frame.retryAfterMs !== undefined) window.setTimeout(() => attachments.resend(), frame.retryAfterMs);
      else attachments.failed(frame.clientId, frame.message);
    }
  }

  // A file still on its way is lost if the page goes: the browser asks first. Kept until this
  // conversation's socket closes, so it also covers files finishing after a switch.
  window.addEventListener(
    "beforeunload",
    (event) => {
      if (attachments.busy()) event.preventDefault();
    },
    { signal: connection.signal },
  );

  return (handOver = Promise.resolve()) => {
    lifetime.abort();
    // Files uploading when the user switched away still go, on this conversation's socket.
    finishing = socket;
    void Promise.all([handOver, attachments.idle()]).finally(() => connection.abort());
    socket = NOT_CONNECTED;
    window.clearTimeout(typingTimer);
    sender.stop();
    banner.stop();
    list.closeMenu(false);
  };
}
