/**
 * Replies on the page: the quote drawn at the top of a reply's bubble (a button that jumps to
 * the original), and the bar above the composer saying what the next message will answer
 * (Escape or its close button cancels).
 */
import { quoteOf, type Quote } from "../chat/protocol.js";
import type { Item } from "./render.js";

/** Who wrote a message, as the page names them ("You", or the other member's name). */
export type NameOf = (userId: string | undefined) => string;

/** What a quote says after its author: the excerpt, or what the original was instead. */
export function quoteText(quote: Quote): string {
  if (quote.deleted) return "Deleted message";
  if (quote.unreadable) return "Message that could not be read";
  if (quote.attachment) return quote.excerpt ? `Attachment: ${quote.excerpt}` : "Attachment";
  if (quote.from === undefined) return "Earlier message";
  return quote.excerpt ?? "";
}

/** The quote of `item`, as its reply will show it. */
export const quoteOfItem = (item: Item & { seq: number }): Quote => quoteOf(item.seq, item);

/**
 * A reply's quote after its original changed: from the original if the page holds it, else
 * from the quote itself and the new text (the original may be paged out while its reply is on
 * screen). A quote the server could not fill (no author) stays as it was.
 */
export function requote(
  quote: Quote,
  original: Item | undefined,
  change: { text: string; unreadable?: boolean } | "deleted",
): Quote {
  if (original) return quoteOf(quote.seq, original);
  if (quote.from === undefined) return quote;
  if (change === "deleted") return { seq: quote.seq, from: quote.from, deleted: true };
  const fresh = quoteOf(quote.seq, { from: quote.from, text: change.text, unreadable: change.unreadable });
  return quote.attachment && !fresh.unreadable ? { ...fresh, attachment: true } : fresh;
}

function quoteBody(quote: Quote, nameOf: NameOf): HTMLElement[] {
  const author = document.createElement("strong");
  author.className = "quote-author";
  author.textContent = quote.from === undefined ? "Reply" : nameOf(quote.from);
  const text = document.createElement("span");
  text.className = `quote-text${quote.deleted || quote.unreadable ? " quote-gone" : ""}`;
  text.textContent = quoteText(quote);
  return [author, text];
}

/** The quote at the top of a reply: tapping it (or Enter on it) goes to the original. */
export function drawQuote(quote: Quote, nameOf: NameOf, jump: (seq: number) => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "quote";
  button.tabIndex = -1;
  button.dataset.quotes = String(quote.seq);
  button.setAttribute("aria-label", `Reply to ${nameOf(quote.from)}: ${quoteText(quote)}. Go to that message.`);
  button.append(...quoteBody(quote, nameOf));
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    jump(quote.seq);
  });
  return button;
}

/** The "Replying to …" bar above the composer. */
export function createReplyBar(form: HTMLFormElement, input: HTMLTextAreaElement, nameOf: NameOf) {
  const bar = document.createElement("div");
  bar.className = "reply-bar";
  bar.id = "reply-bar";
  bar.hidden = true;
  // Announced when it changes: the focus stays in the composer.
  bar.setAttribute("role", "status");
  const what = document.createElement("div");
  what.className = "reply-bar-quote";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "button button-ghost button-small reply-bar-cancel";
  cancel.setAttribute("aria-label", "Cancel reply");
  cancel.textContent = "✕";
  bar.append(what, cancel);
  form.before(bar);
  let replying: Quote | undefined;

  function stop(): void {
    replying = undefined;
    bar.hidden = true;
    what.replaceChildren();
  }
  cancel.addEventListener("click", () => {
    stop();
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && replying) {
      event.preventDefault();
      stop();
    }
  });
  return {
    /** The next message answers `quote`. */
    start(quote: Quote): void {
      replying = quote;
      const label = document.createElement("span");
      label.className = "reply-bar-label";
      label.textContent = "Replying to ";
      what.replaceChildren(label, ...quoteBody(quote, nameOf));
      bar.hidden = false;
      input.focus();
    },
    stop,
    get current(): Quote | undefined {
      return replying;
    },
  };
}
