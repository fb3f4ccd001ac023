/**
 * Reactions on the page: held per message as sets of who reacted with what (so a frame seen
 * twice changes nothing), drawn under the bubble as chips with a count. A chip toggles your own
 * reaction; its label says the count and whether one of them is yours ("👍 2, you reacted").
 */
import { REACTIONS, type Reaction, type ReactionCount } from "../chat/protocol.js";

/** `reactions` after `from` added (on) or took back `emoji`: a new list, emoji in first-seen order. */
export function withReaction(
  reactions: readonly ReactionCount[] | undefined,
  change: { from: string; emoji: Reaction; on: boolean },
): ReactionCount[] {
  const list = (reactions ?? []).map((r) => ({ emoji: r.emoji, by: [...r.by] }));
  const found = list.find((r) => r.emoji === change.emoji);
  if (change.on) {
    if (!found) list.push({ emoji: change.emoji, by: [change.from] });
    else if (!found.by.includes(change.from)) found.by.push(change.from);
  } else if (found) found.by = found.by.filter((id) => id !== change.from);
  return list.filter((r) => r.by.length > 0);
}

/** The emoji `me` has put on a message. */
export const reactedBy = (reactions: readonly ReactionCount[] | undefined, me: string): Set<string> =>
  new Set((reactions ?? []).filter((r) => r.by.includes(me)).map((r) => r.emoji));

export function reactionLabel(reaction: ReactionCount, me: string): string {
  const yours = reaction.by.includes(me);
  return `${reaction.emoji} ${reaction.by.length}${yours ? ", you reacted" : ""}`;
}

/** The chips under a message, or undefined when it has none. */
export function drawReactions(
  reactions: readonly ReactionCount[] | undefined,
  me: string,
  toggle: (emoji: Reaction, on: boolean) => void,
): HTMLElement | undefined {
  if (!reactions?.length) return undefined;
  const row = document.createElement("div");
  row.className = "reactions";
  row.setAttribute("role", "group");
  row.setAttribute("aria-label", "Reactions");
  for (const reaction of reactions) {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "reaction-chip";
    // One tab stop for the list: chips are for the pointer; the keyboard uses the menu's "React".
    chip.tabIndex = -1;
    const yours = reaction.by.includes(me);
    chip.setAttribute("aria-pressed", String(yours));
    chip.setAttribute("aria-label", reactionLabel(reaction, me));
    chip.title = REACTIONS[reaction.emoji];
    const emoji = document.createElement("span");
    emoji.setAttribute("aria-hidden", "true");
    emoji.textContent = reaction.emoji;
    const count = document.createElement("span");
    count.className = "reaction-count";
    count.setAttribute("aria-hidden", "true");
    count.textContent = String(reaction.by.length);
    chip.append(emoji, count);
    chip.addEventListener("click", (event) => {
      event.stopPropagation();
      toggle(reaction.emoji, !yours);
    });
    row.append(chip);
  }
  return row;
}
