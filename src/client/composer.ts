/**
 * The composer's text box: Enter sends (Shift+Enter is a new line), the length counter near the
 * limit, an emoji button that inserts where the cursor is, a draft kept per conversation in this
 * browser (cleared on sign-out with the rest), and a typing notice at most every two seconds.
 * What sending does is the page's (chat.ts); the files beside it are attachment-composer.ts's.
 */
import { openEmojiPicker } from "./emoji-picker.js";
import { lengthLabel } from "./format.js";
import { partsOf } from "./dom.js";

const TYPING_EVERY_MS = 2000;

export function setupComposer(options: {
  root: HTMLElement;
  roomId: string;
  /** Set in a read-only room: no draft is put back. */
  closed?: string;
  /** Sends `text` (not blank: files may still go); answers whether it took the text. */
  submit(text: string): boolean;
  /** Tells the other member we are typing; answers whether it could. */
  typing(): boolean;
}): void {
  const { root } = options;
  const part = partsOf(root, "chat page");
  const form = part<HTMLFormElement>("#composer");
  const input = part<HTMLTextAreaElement>("#composer-text");
  const counter = part<HTMLElement>("#composer-count");
  const maxLength = Number(root.dataset.maxLength ?? 4000);
  const draftKey = `duet:draft:${options.roomId}`;
  let lastTypingSent = 0;

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

  // The emoji button, before Send: it inserts where the cursor is.
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

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!options.submit(input.value)) return;
    input.value = "";
    saveDraft();
    showCount();
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
    if (Date.now() - lastTypingSent > TYPING_EVERY_MS && options.typing()) lastTypingSent = Date.now();
  });

  try {
    const draft = localStorage.getItem(draftKey);
    if (draft && !options.closed) input.value = draft;
  } catch {
    // No storage: no drafts.
  }
  showCount();
}
