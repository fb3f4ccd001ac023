/**
 * A small emoji picker: Duet's own reactions (chat/protocol's REACTIONS), no font or CDN. One
 * listbox of options in rows of COLUMNS, operated like a grid: the arrow keys move, Home and End
 * go to the ends, Enter or Space picks, Escape (or Tab, or a click elsewhere) closes and puts the
 * focus back where it was. Each option is labelled with its name, and says when it is chosen.
 */
import { REACTIONS, type Reaction } from "../chat/protocol.js";

export const COLUMNS = 8;
const EMOJI = Object.keys(REACTIONS) as Reaction[];

export type PickerOptions = {
  /** Where the picker goes in the DOM (it is positioned by CSS against it). */
  mount: HTMLElement;
  /** The picker's accessible name ("Add a reaction", "Insert an emoji"). */
  label: string;
  /** Shown as already chosen (your reactions on a message). */
  chosen?: ReadonlySet<string>;
  onPick(emoji: Reaction): void;
  /** Where the focus goes back when the picker closes without a pick. */
  returnFocus: HTMLElement;
};

let current: { close(focusBack: boolean): void } | undefined;

/** The index the key moves to from `at` in a grid of `count` items, `columns` wide. */
export function moveInGrid(key: string, at: number, count: number, columns: number): number | undefined {
  switch (key) {
    case "ArrowRight":
      return Math.min(count - 1, at + 1);
    case "ArrowLeft":
      return Math.max(0, at - 1);
    case "ArrowDown":
      return at + columns < count ? at + columns : at;
    case "ArrowUp":
      return at - columns >= 0 ? at - columns : at;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return undefined;
  }
}

/** Opens the picker (closing any other); answers a way to close it. */
export function openEmojiPicker(options: PickerOptions): { close(): void } {
  current?.close(false);
  const box = document.createElement("div");
  box.className = "emoji-picker";
  box.setAttribute("role", "listbox");
  box.setAttribute("aria-label", options.label);
  box.style.setProperty("--columns", String(COLUMNS));
  const items = EMOJI.map((emoji, i) => {
    const option = document.createElement("div");
    option.className = "emoji-option";
    option.setAttribute("role", "option");
    option.id = `emoji-option-${i}`;
    const chosen = options.chosen?.has(emoji) ?? false;
    option.setAttribute("aria-label", `${REACTIONS[emoji]}${chosen ? " (yours: choose to take it back)" : ""}`);
    option.setAttribute("aria-selected", "false");
    option.classList.toggle("emoji-chosen", chosen);
    option.tabIndex = -1;
    option.textContent = emoji;
    option.addEventListener("click", (event) => {
      event.stopPropagation();
      pick(emoji);
    });
    box.append(option);
    return option;
  });

  let at = 0;
  const focusAt = (index: number) => {
    items[at]?.setAttribute("aria-selected", "false");
    at = index;
    items[at]?.setAttribute("aria-selected", "true");
    items[at]?.focus();
  };

  const onOutside = (event: MouseEvent) => {
    if (!box.contains(event.target as Node)) close(false);
  };
  function close(focusBack: boolean): void {
    if (current !== handle) return;
    current = undefined;
    document.removeEventListener("click", onOutside, true);
    box.remove();
    if (focusBack) options.returnFocus.focus();
  }
  function pick(emoji: Reaction): void {
    close(true);
    options.onPick(emoji);
  }

  box.addEventListener("keydown", (event) => {
    // The message list moves between messages on the arrow keys: not while picking.
    event.stopPropagation();
    const next = moveInGrid(event.key, at, items.length, COLUMNS);
    if (next !== undefined) {
      event.preventDefault();
      focusAt(next);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      const emoji = EMOJI[at];
      if (emoji) pick(emoji);
    } else if (event.key === "Escape" || event.key === "Tab") {
      event.preventDefault();
      close(true);
    }
  });

  const handle = { close };
  current = handle;
  options.mount.append(box);
  // After the click that opened it has finished bubbling.
  document.addEventListener("click", onOutside, true);
  focusAt(0);
  return { close: () => close(true) };
}
