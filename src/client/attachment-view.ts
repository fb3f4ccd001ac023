/**
 * Attachments in the message list: images inline (their preview, with its dimensions reserved so
 * nothing shifts when it loads) opening in a lightbox, audio (voice notes) in the browser's player,
 * other files as a card with name, size, type and a download link. Names are only ever text nodes.
 */
import { attachmentUrl, isPlayableAudio, type AttachmentInfo } from "../chat/protocol.js";
import { el } from "./dom.js";

/** An upload on its way: how far it got, and how to stop it. */
export type UploadProgress = { loaded: number; total: number; cancel(): void };

/** "840 KB", "12.5 MB". */
export function sizeLabel(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

/** A short label for the type: PDF, ZIP, MP3… from the name's extension, else the type's family. */
export function typeLabel(info: Pick<AttachmentInfo, "name" | "type">): string {
  const extension = /\.([a-z0-9]{1,5})$/i.exec(info.name)?.[1];
  return (extension ?? info.type.split("/")[0] ?? "file").toUpperCase().slice(0, 5);
}

let lightbox:
  { dialog: HTMLDialogElement; image: HTMLImageElement; caption: HTMLElement; download: HTMLAnchorElement } | undefined;

function openLightbox(url: string, info: AttachmentInfo, caption: string): void {
  if (!lightbox) {
    const dialog = el("dialog", "lightbox");
    dialog.setAttribute("aria-label", "Picture");
    const image = el("img", "lightbox-image");
    const captionText = el("p", "lightbox-caption");
    const bar = el("div", "lightbox-bar");
    const download = el("a", "button button-small", "Download original");
    const close = el("button", "button button-ghost button-small", "Close");
    close.type = "button";
    close.addEventListener("click", () => dialog.close());
    // A click on the backdrop (the dialog itself, outside its content) closes it too.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    bar.append(download, close);
    dialog.append(image, captionText, bar);
    document.body.append(dialog);
    lightbox = { dialog, image, caption: captionText, download };
  }
  const { width = 0, height = 0, previewWidth = 0, previewHeight = 0 } = info.image ?? {};
  lightbox.image.src = `${url}/preview`;
  lightbox.image.width = previewWidth;
  lightbox.image.height = previewHeight;
  lightbox.image.alt = info.name;
  lightbox.caption.textContent = caption || `${info.name} · ${width}×${height} · ${sizeLabel(info.size)}`;
  lightbox.download.href = url;
  lightbox.download.download = info.name;
  lightbox.dialog.showModal();
}

function imageView(url: string, info: AttachmentInfo, caption: string): HTMLElement {
  const { previewWidth = 1, previewHeight = 1 } = info.image ?? {};
  const button = el("button", "att-image");
  button.type = "button";
  button.setAttribute("aria-label", `Open picture ${info.name}`);
  const img = el("img");
  img.src = `${url}/preview`;
  img.alt = caption || info.name;
  img.width = previewWidth;
  img.height = previewHeight;
  img.loading = "lazy";
  img.decoding = "async";
  button.append(img);
  button.addEventListener("click", () => openLightbox(url, info, caption));
  return button;
}

function fileCard(url: string | undefined, info: AttachmentInfo): HTMLElement {
  const card = el(url ? "a" : "div", "att-file");
  if (card instanceof HTMLAnchorElement && url) {
    card.href = url;
    card.download = info.name;
    card.setAttribute("aria-label", `Download ${info.name}, ${sizeLabel(info.size)}`);
  }
  const icon = el("span", "att-icon", typeLabel(info));
  icon.setAttribute("aria-hidden", "true");
  const text = el("span", "att-text");
  text.append(el("span", "att-name", info.name), el("span", "att-size muted small", sizeLabel(info.size)));
  card.append(icon, text);
  if (url) card.append(el("span", "att-download small", "Download"));
  return card;
}

/** A voice note or audio file: the browser's own player (keyboard operable), its name, size and a download link. */
function audioView(url: string, info: AttachmentInfo): HTMLElement {
  const box = el("div", "att-audio");
  const player = el("audio");
  player.controls = true;
  player.preload = "metadata";
  player.src = `${url}/audio`;
  player.setAttribute("aria-label", `Play ${info.name}`);
  const line = el("div", "att-audio-line small");
  const download = el("a", "att-audio-download", "Download");
  download.href = url;
  download.download = info.name;
  download.setAttribute("aria-label", `Download ${info.name}, ${sizeLabel(info.size)}`);
  line.append(el("span", "att-name", info.name), el("span", "att-size", sizeLabel(info.size)), download);
  box.append(player, line);
  return box;
}

function progressView(progress: UploadProgress): HTMLElement {
  const box = el("div", "att-progress");
  const bar = el("progress");
  bar.max = progress.total || 1;
  bar.value = progress.loaded;
  bar.setAttribute("aria-label", "Uploading");
  const cancel = el("button", "link-button small", "Cancel");
  cancel.type = "button";
  cancel.addEventListener("click", () => progress.cancel());
  box.append(bar, el("span", "small muted", `${sizeLabel(progress.loaded)} of ${sizeLabel(progress.total)}`), cancel);
  return box;
}

/**
 * Puts the attachment of a message (sent, or still uploading: then `progress`) at the top of its
 * bubble. `from` and the room name its URL; a message not stored yet has no URL.
 */
export function showAttachment(
  bubble: HTMLElement,
  roomId: string,
  message: { from: string; seq?: number; text: string; attachment: AttachmentInfo },
  progress?: UploadProgress,
): void {
  const url = message.seq !== undefined ? attachmentUrl(roomId, message.from, message.attachment.id) : undefined;
  const view =
    url && message.attachment.image
      ? imageView(url, message.attachment, message.text)
      : url && isPlayableAudio(message.attachment.type)
        ? audioView(url, message.attachment)
        : fileCard(url, message.attachment);
  const box = el("div", "att");
  box.append(view);
  if (progress) box.append(progressView(progress));
  bubble.prepend(box);
  bubble.classList.add("bubble-att");
}
