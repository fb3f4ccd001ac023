/**
 * What a message's menu does beyond the list itself (render.ts draws the menu): reacting (the
 * server's answer, sent to every tab, is what shows it), the reaction picker on a message, and
 * deleting after an in-app confirmation, with the focus put back where it belongs.
 */
import type { ClientFrame, Reaction } from "../chat/protocol.js";
import { partsOf } from "./dom.js";
import { openEmojiPicker } from "./emoji-picker.js";
import { reactedBy } from "./reactions-view.js";
import type { Item } from "./render.js";

export type MessageActions = ReturnType<typeof createMessageActions>;

export function createMessageActions(deps: {
  root: HTMLElement;
  me: string;
  /** The message the list holds at `seq`, if any. */
  bySeq(seq: number): Item | undefined;
  /** Sends a frame if the socket is live; false if it is not. */
  send(frame: ClientFrame): boolean;
  /** The line under the composer. */
  note(text: string): void;
}) {
  const { root, me } = deps;
  const part = partsOf(root, "chat page");
  const messages = part<HTMLElement>("#messages");
  const confirmDialog = part<HTMLDialogElement>("#confirm-delete");
  const rowOf = (seq: number) => root.querySelector<HTMLElement>(`#message-list li[data-seq="${seq}"]`);

  /** Says the reaction; the page shows it when the server announces it (to every tab). */
  function react(seq: number, emoji: Reaction, on: boolean): void {
    if (!deps.send({ type: "react", seq, emoji, on })) deps.note("You're offline: reactions go when you're back online.");
  }

  return {
    react,
    pickReaction(seq: number): void {
      const li = rowOf(seq);
      if (!li) return;
      const chosen = reactedBy(deps.bySeq(seq)?.reactions, me);
      openEmojiPicker({
        mount: li,
        label: "Add a reaction",
        chosen,
        returnFocus: li,
        onPick: (emoji) => react(seq, emoji, !chosen.has(emoji)),
      });
    },
    /** Asks first; the focus goes back to the message (or, if it is gone, where it was). */
    confirmDelete(item: Item): void {
      const focusBack = document.activeElement instanceof HTMLElement ? document.activeElement : undefined;
      confirmDialog.returnValue = "";
      confirmDialog.showModal();
      confirmDialog.addEventListener(
        "close",
        () => {
          if (confirmDialog.returnValue === "delete" && item.seq !== undefined && !deps.send({ type: "delete", seq: item.seq }))
            deps.note("You're offline: the message was not deleted. Try again when you're back online.");
          const li = item.seq !== undefined ? rowOf(item.seq) : null;
          (li ?? focusBack ?? messages).focus();
        },
        { once: true },
      );
    },
  };
}
