/**
 * Sending files: a paper-clip button, paste and drag-and-drop put files in a tray above the
 * composer, each with its own caption; sending uploads each one (progress, cancel) and then sends
 * an `attach` frame with the same client id, so a retried upload or frame is stored once. Files
 * over the limit are refused in the tray, before any upload starts.
 */
import type { AttachmentInfo, ClientFrame, Quote } from "../chat/protocol.js";
import { sizeLabel, type UploadProgress } from "./attachment-view.js";
import { dropFile, keepFile, keptFiles } from "./file-outbox.js";
import { newClientId } from "./format.js";
import type { Item } from "./render.js";
import { createVoiceRecorder } from "./voice-recorder.js";
import { el, strokeIcon } from "./dom.js";

type Pending = {
  clientId: string;
  file: File;
  caption: string;
  at: string;
  loaded: number;
  request?: XMLHttpRequest;
  uploaded?: AttachmentInfo;
  failed?: string;
  /** The message it answers (the reply bar was open when it was sent). */
  replyTo?: Quote;
};

export type AttachmentComposerDeps = {
  root: HTMLElement;
  form: HTMLFormElement;
  input: HTMLTextAreaElement;
  roomId: string;
  me: string;
  maxBytes: number;
  send(frame: ClientFrame): boolean;
  /** Whether sends may go now (not held back after a refusal). */
  canSend(): boolean;
  show(item: Item): void;
  drop(clientId: string): void;
  /** Ends a recording and the page-wide listeners (the conversation pane is being replaced). */
  signal?: AbortSignal;
};

/** A paper-clip icon (no emoji font is needed, and it takes the button's colour). */
const paperclip = () =>
  strokeIcon(["M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.9-8.9a3.7 3.7 0 0 1 5.2 5.2l-8.9 8.9a1.8 1.8 0 0 1-2.6-2.6l8.2-8.2"]);

// Files any conversation of this page is still sending: one switched away from finishes its own
// (chat.ts), so coming back to it must not upload them a second time from storage.
const sendingInPage = new Set<string>();

export function createAttachmentComposer(deps: AttachmentComposerDeps) {
  const { root, form, input, roomId, me, maxBytes } = deps;
  const pending = new Map<string, Pending>();
  /** Files uploading or waiting for their ack (a failed one waits for the user, not the network). */
  const busy = () => [...pending.values()].some((p) => !p.failed);
  let whenIdle: Array<() => void> = [];
  /** A file is done with (acknowledged, cancelled, discarded, abandoned): not kept any more. */
  const track = (p: Pending) => {
    pending.set(p.clientId, p);
    sendingInPage.add(p.clientId);
  };
  const release = (clientId: string) => {
    pending.delete(clientId);
    sendingInPage.delete(clientId);
    void dropFile(clientId);
  };
  const changed = () => {
    if (busy()) return;
    for (const wake of whenIdle) wake();
    whenIdle = [];
  };
  const tray: Array<{ file: File; caption: HTMLInputElement; li: HTMLLIElement }> = [];
  const csrf = root.querySelector<HTMLInputElement>('input[name="_csrf"]')?.value ?? "";

  const trayList = el("ul", "attach-tray");
  trayList.setAttribute("aria-label", "Files to send");
  trayList.hidden = true;
  form.before(trayList);
  const picker = el("input");
  picker.type = "file";
  picker.multiple = true;
  picker.hidden = true;
  picker.id = "attach-input";
  const button = el("button", "button button-ghost attach-button");
  button.append(paperclip());
  button.type = "button";
  button.setAttribute("aria-label", "Attach files");
  button.title = "Attach files";
  button.disabled = input.disabled;
  button.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    addFiles(picker.files);
    picker.value = "";
  });
  form.prepend(picker, button);
  const voice = createVoiceRecorder({
    after: button,
    form,
    maxBytes,
    disabled: input.disabled,
    recorded: (file) => addFiles([file]),
    signal: deps.signal,
  });

  function syncTray(): void {
    // Shown while it lists anything, a refused file included (its reason is in the tray).
    trayList.hidden = trayList.children.length === 0;
    // A file alone may be sent without a message.
    input.required = tray.length === 0;
  }

  function addFiles(files: FileList | readonly File[] | null | undefined): void {
    if (!files || input.disabled) return;
    for (const file of Array.from(files)) {
      const li = el("li", "attach-item");
      const name = el("span", "attach-name", file.name || "pasted file");
      const size = el("span", "muted small", sizeLabel(file.size));
      const caption = el("input", "attach-caption");
      caption.type = "text";
      caption.maxLength = 4000;
      caption.placeholder = "Add a caption…";
      caption.setAttribute("aria-label", `Caption for ${file.name || "pasted file"}`);
      const remove = el("button", "link-button small", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", `Remove ${file.name || "pasted file"}`);
      const entry = { file, caption, li };
      remove.addEventListener("click", () => {
        // A refused file was never queued: only a queued one leaves the queue.
        if (tray.includes(entry)) tray.splice(tray.indexOf(entry), 1);
        li.remove();
        syncTray();
        input.focus();
      });
      li.append(name, size);
      if (file.size > maxBytes) {
        li.classList.add("attach-too-large");
        li.append(el("span", "failure small", `Larger than ${Math.round(maxBytes / 1024 / 1024)} MB: it can't be sent.`));
      } else {
        li.append(caption);
        tray.push(entry);
      }
      li.append(remove);
      trayList.append(li);
    }
    syncTray();
    tray.at(-1)?.caption.focus();
  }

  function itemOf(p: Pending): Item {
    return {
      clientId: p.clientId,
      from: me,
      text: p.caption,
      at: p.at,
      state: p.failed ? "failed" : "sending",
      ...(p.failed ? { failure: p.failed } : { failure: undefined }),
      attachment: p.uploaded ?? { id: p.clientId, name: p.file.name || "file", type: p.file.type, size: p.file.size },
      ...(p.replyTo ? { replyTo: p.replyTo } : {}),
    };
  }

  function sendFrame(p: Pending): void {
    if (p.uploaded && !p.failed && deps.canSend())
      deps.send({ type: "attach", clientId: p.clientId, caption: p.caption, ...(p.replyTo ? { replyTo: p.replyTo.seq } : {}) });
  }

  function upload(p: Pending): void {
    const request = new XMLHttpRequest();
    p.request = request;
    p.failed = undefined;
    p.loaded = 0;
    let lastDraw = 0;
    request.upload.addEventListener("progress", (event) => {
      p.loaded = event.loaded;
      // A redraw ten times a second at most: enough for the bar.
      if (Date.now() - lastDraw > 100) {
        lastDraw = Date.now();
        deps.show(itemOf(p));
      }
    });
    request.addEventListener("load", () => {
      p.request = undefined;
      let body: { attachment?: AttachmentInfo; error?: { message?: string } } = {};
      try {
        body = JSON.parse(request.responseText) as typeof body;
      } catch {
        body = {};
      }
      if ((request.status === 200 || request.status === 201) && body.attachment) {
        p.uploaded = body.attachment;
        deps.show(itemOf(p));
        sendFrame(p);
      } else {
        p.failed =
          body.error?.message ?? (request.status === 413 ? `That file is too large.` : "The file could not be uploaded.");
        deps.show(itemOf(p));
        changed();
      }
    });
    request.addEventListener("error", () => {
      p.request = undefined;
      p.failed = "The upload was interrupted. Retry when you're back online.";
      deps.show(itemOf(p));
      changed();
    });
    request.open("POST", `/api/rooms/${roomId}/attachments?clientId=${p.clientId}&_csrf=${encodeURIComponent(csrf)}`);
    request.setRequestHeader("Accept", "application/json");
    const body = new FormData();
    body.append("file", p.file, p.file.name || "file");
    request.send(body);
    deps.show(itemOf(p));
  }

  // Drag and drop onto the conversation; paste into the composer.
  root.addEventListener("dragover", (event) => {
    if (!event.dataTransfer?.types.includes("Files") || input.disabled) return;
    event.preventDefault();
    root.classList.add("chat-drop");
  });
  root.addEventListener("dragleave", (event) => {
    if (event.target === root || !root.contains(event.relatedTarget as Node | null)) root.classList.remove("chat-drop");
  });
  root.addEventListener("drop", (event) => {
    if (!event.dataTransfer?.files.length) return;
    event.preventDefault();
    root.classList.remove("chat-drop");
    addFiles(event.dataTransfer.files);
  });
  input.addEventListener("paste", (event) => {
    const files = event.clipboardData?.files;
    if (files && files.length > 0) {
      event.preventDefault();
      addFiles(files);
    }
  });

  return {
    /**
     * Sends every file in the tray (each with its caption, each answering `replyTo` if given);
     * called when the composer is sent. Answers how many files went.
     */
    sendTray(replyTo?: Quote): number {
      voice.clear();
      const files = tray.splice(0);
      for (const { file, caption } of files) {
        const p: Pending = {
          clientId: newClientId(),
          file,
          caption: caption.value,
          at: new Date().toISOString(),
          loaded: 0,
          ...(replyTo ? { replyTo } : {}),
        };
        track(p);
        void keepFile({ clientId: p.clientId, roomId, file, caption: p.caption, at: p.at, ...(replyTo ? { replyTo } : {}) });
        upload(p);
      }
      trayList.replaceChildren();
      syncTray();
      return files.length;
    },
    /** The upload in progress for a message, for its progress bar. */
    progressOf(clientId: string): UploadProgress | undefined {
      const p = pending.get(clientId);
      if (!p?.request) return undefined;
      return {
        loaded: p.loaded,
        total: p.file.size,
        cancel: () => {
          p.request?.abort();
          release(clientId);
          deps.drop(clientId);
          changed();
        },
      };
    },
    owns: (clientId: string) => pending.has(clientId),
    /** Whether a file is still uploading or waiting for its ack. */
    busy,
    /** Resolves once no file is uploading or waiting for its ack. */
    idle(): Promise<void> {
      return busy() ? new Promise((resolve) => whenIdle.push(resolve)) : Promise.resolve();
    },
    /** Sends again the attach frames not acknowledged yet (after a reconnect or a refusal). */
    resend(): void {
      for (const p of pending.values()) sendFrame(p);
    },
    /** The attachment message is stored: answers its caption. */
    acked(clientId: string): string | undefined {
      const p = pending.get(clientId);
      release(clientId);
      changed();
      return p?.caption;
    },
    /** The server refused it for good; answers whether it was one of ours. */
    failed(clientId: string, message: string): boolean {
      const p = pending.get(clientId);
      if (!p) return false;
      p.failed = message;
      // "Not uploaded completely": the retry uploads it again.
      p.uploaded = undefined;
      deps.show(itemOf(p));
      changed();
      return true;
    },
    retry(clientId: string): void {
      const p = pending.get(clientId);
      if (p) upload(p);
    },
    /**
     * Forgets every file on its way: its conversation is gone (deleted, or the other account) and
     * the page has already moved to another, so there is nobody to send it to or to show it to.
     */
    abandonAll(): void {
      for (const [clientId, p] of pending) {
        p.request?.abort();
        release(clientId);
        deps.drop(clientId);
      }
      changed();
    },
    /**
     * Files sent from this conversation in an earlier page (reloaded, closed, crashed) and never
     * acknowledged: shown as sending and uploaded again, under their own client ids.
     */
    async restore(): Promise<void> {
      for (const kept of await keptFiles(roomId)) {
        if (sendingInPage.has(kept.clientId) || deps.signal?.aborted) continue;
        const p: Pending = { ...kept, loaded: 0 };
        track(p);
        upload(p);
      }
    },
    discard(clientId: string): void {
      pending.get(clientId)?.request?.abort();
      release(clientId);
      deps.drop(clientId);
      changed();
    },
  };
}
export type AttachmentComposer = ReturnType<typeof createAttachmentComposer>;
