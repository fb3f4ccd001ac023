/**
 * The chat page: history with infinite scroll, live messages, an offline queue with visible
 * sending / sent / read states, typing and read receipts, presence, edit and delete, and opt-in
 * notifications while the tab is hidden. Bundled by esbuild into /static/js/chat.js.
 */
import type { PlainMessage, ServerFrame } from "../chat/protocol.js";
import { createAttachmentComposer } from "./attachment-composer.js";
import { showAttachment } from "./attachment-view.js";
import { lastSeenLabel, newClientId } from "./format.js";
import { createOutbox } from "./outbox.js";
import { createMessageList, type Item } from "./render.js";
import { connectChat, type SocketState } from "./socket.js";

const root = document.getElementById("chat");
if (root) start(root);

function start(root: HTMLElement): void {
  const { room: roomId = "", me = "", peer = "", peerName = "them", closed } = root.dataset;
  const part = <T extends Element>(selector: string): T => {
    const found = root.querySelector<T>(selector);
    if (!found) throw new Error(`chat page lacks ${selector}`);
    return found;
  };
  const messages = part<HTMLOListElement>("#messages");
  const form = part<HTMLFormElement>("#composer");
  const input = part<HTMLTextAreaElement>("#composer-text");
  const status = part<HTMLElement>("#connection");
  const typing = part<HTMLElement>("#typing");
  const presence = part<HTMLElement>("#presence");
  const notifyToggle = root.querySelector<HTMLButtonElement>("#notify-toggle");
  const composerNote = part<HTMLElement>("#composer-note");

  const outbox = createOutbox(roomId);
  // Live once the newest page of history is in (below); until then nothing can be sent.
  let socket: Pick<ReturnType<typeof connectChat>, "send"> = { send: () => false };
  let highest = 0;
  // Where a reconnect resumes: the highest number the server sent us as a message. Not our own
  // acks: a peer's message can be stored with a lower number than our send and still be on its
  // way from the other instance when our ack arrives; resuming after the ack would skip it.
  let resumeFrom = 0;
  let readSent = 0;
  let hasMore = true;
  let loading = false;
  let typingTimer: number | undefined;
  // After the server refuses a send (too fast, or storage down) nothing is sent until this time;
  // then the whole queue goes again, oldest first, so messages keep the order they were typed in.
  let holdUntil = 0;
  let flushTimer: number | undefined;
  let lastTypingSent = 0;

  const nearBottom = () => messages.scrollHeight - messages.scrollTop - messages.clientHeight < 120;
  const toBottom = () => (messages.scrollTop = messages.scrollHeight);
  const fromServer = (m: PlainMessage): Item => ({ ...m, state: "sent" });

  const list = createMessageList(messages, me, {
    decorate: (item, bubble) => showAttachment(bubble, roomId, item, attachments.progressOf(item.clientId)),
    edit(item) {
      const text = window.prompt("Edit your message", item.text);
      if (text !== null && text.trim() && text !== item.text && item.seq !== undefined)
        socket.send({ type: "edit", seq: item.seq, text });
    },
    remove(item) {
      if (item.seq !== undefined && window.confirm("Delete this message for both of you?"))
        socket.send({ type: "delete", seq: item.seq });
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
  });

  function showState(state: SocketState, detail?: string): void {
    const text = {
      connecting: "Connecting…",
      live: "",
      reconnecting: "Reconnecting… your messages are kept and will be sent.",
      offline: detail ?? "You're offline. Messages will be sent when you're back.",
    }[state];
    status.hidden = text === "";
    status.textContent = text;
    root.dataset.state = state;
  }

  function flush(): void {
    const wait = holdUntil - Date.now();
    if (wait > 0) {
      window.clearTimeout(flushTimer);
      flushTimer = window.setTimeout(flush, wait);
      return;
    }
    for (const item of outbox.all()) if (!item.failed) socket.send({ type: "send", clientId: item.clientId, text: item.text });
    attachments.resend();
  }

  function note(text: string): void {
    composerNote.textContent = text;
    composerNote.hidden = text === "";
  }

  function markRead(): void {
    if (document.visibilityState === "visible" && highest > readSent && socket.send({ type: "read", seq: highest }))
      readSent = highest;
  }

  function notify(item: Item): void {
    if (document.visibilityState === "visible" || !("Notification" in window) || Notification.permission !== "granted") return;
    const note = new Notification(peerName, { body: item.deleted ? "" : item.text.slice(0, 140), tag: roomId });
    note.addEventListener("click", () => window.focus());
  }

  function onFrame(frame: ServerFrame): void {
    const stick = nearBottom();
    switch (frame.type) {
      case "ready":
        list.setPeerRead(frame.peerReadUpTo);
        readSent = Math.max(readSent, frame.readUpTo);
        flush();
        break;
      case "ack": {
        const pending = outbox.all().find((o) => o.clientId === frame.clientId);
        outbox.remove(frame.clientId);
        const caption = attachments.acked(frame.clientId);
        if (Date.now() >= holdUntil) note("");
        list.upsert({
          clientId: frame.clientId,
          from: me,
          text: pending?.text ?? caption ?? "",
          at: frame.at,
          seq: frame.seq,
          state: "sent",
        });
        highest = Math.max(highest, frame.seq);
        break;
      }
      case "message": {
        const item = fromServer(frame);
        list.upsert(item);
        highest = Math.max(highest, frame.seq);
        resumeFrom = Math.max(resumeFrom, frame.seq);
        if (frame.from !== me) {
          typing.textContent = "";
          notify(item);
        }
        break;
      }
      case "edited": {
        const item = list.bySeq(frame.seq);
        if (item) list.upsert({ ...item, text: frame.text, editedAt: frame.at });
        break;
      }
      case "deleted": {
        const item = list.bySeq(frame.seq);
        if (item) list.upsert({ ...item, text: "", deleted: true });
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
        } else {
          showState("live");
          status.hidden = false;
          status.textContent = frame.message;
        }
        break;
    }
    if (stick) toBottom();
    markRead();
  }

  async function loadOlder(): Promise<void> {
    if (loading || !hasMore) return;
    loading = true;
    const before = list.oldestSeq();
    const height = messages.scrollHeight;
    try {
      const res = await fetch(`/api/rooms/${roomId}/messages?limit=50${before ? `&before=${before}` : ""}`, {
        headers: { Accept: "application/json" },
      });
      if (!res.ok) throw new Error(String(res.status));
      const page = (await res.json()) as { messages: PlainMessage[]; hasMore: boolean; upTo: number };
      for (const m of page.messages) list.upsert(fromServer(m), { silent: true });
      list.refresh();
      hasMore = page.hasMore;
      if (!before) {
        highest = Math.max(highest, ...page.messages.map((m) => m.seq));
        resumeFrom = Math.max(resumeFrom, ...page.messages.map((m) => m.seq));
        toBottom();
      } else messages.scrollTop += messages.scrollHeight - height;
    } finally {
      loading = false;
    }
  }

  messages.addEventListener("scroll", () => {
    if (messages.scrollTop < 80) void loadOlder();
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    attachments.sendTray();
    toBottom();
    const text = input.value;
    if (!text.trim()) return;
    const item = { clientId: newClientId(), text, at: new Date().toISOString() };
    outbox.add(item);
    list.upsert({ ...item, from: me, state: "sending" });
    input.value = "";
    toBottom();
    if (Date.now() >= holdUntil) socket.send({ type: "send", clientId: item.clientId, text });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener("input", () => {
    if (Date.now() - lastTypingSent > 2000 && socket.send({ type: "typing" })) lastTypingSent = Date.now();
  });
  document.addEventListener("visibilitychange", markRead);

  if (notifyToggle && "Notification" in window && Notification.permission === "default") {
    notifyToggle.hidden = false;
    notifyToggle.addEventListener("click", () => {
      void Notification.requestPermission().then(() => (notifyToggle.hidden = true));
    });
  }

  // A read-only room (the other account was deleted): history only, no socket, and whatever
  // was still queued for it is shown as not sent, with the reason.
  if (closed) for (const item of outbox.all()) outbox.fail(item.clientId, closed);
  for (const item of outbox.all())
    list.upsert({ ...item, from: me, state: item.failed ? "failed" : "sending", failure: item.failed });
  // Open at the newest page of history, then go live from its last number, so the socket sends
  // only what is newer (it used to replay up to 5,000 messages on every open). If the page
  // cannot be fetched, the socket's catch-up brings the recent messages instead.
  void loadOlder()
    .catch(() => undefined)
    .finally(() => {
      if (!closed) socket = connectChat({ roomId, lastSeq: () => resumeFrom, onFrame, onState: showState });
    });
}
