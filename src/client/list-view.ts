/**
 * The conversation list as drawn in the page: times in the reader's zone, the open conversation
 * marked, presence dots, and a fresh copy of the list (from the server's HTML) put in place
 * without losing the reader's focus, filter or open Archived section.
 */
import { listTimeLabel } from "./format.js";

/** Server-rendered times are UTC; here they become the reader's own ("21:20", "Yesterday", "Mon"). */
export function relabelTimes(scope: ParentNode = document): void {
  for (const time of scope.querySelectorAll<HTMLTimeElement>("time[data-relative]")) {
    const date = new Date(time.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    time.textContent = listTimeLabel(date);
    time.title = date.toLocaleString();
  }
}

/** In the room page's side list: the open conversation (`data-current`) is marked as the current one. */
export function markCurrent(region: HTMLElement): void {
  const current = region.dataset.current;
  if (!current) return;
  for (const link of region.querySelectorAll<HTMLElement>("a[data-room]")) {
    if (link.dataset.room === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

/** The other member of `room` came online or went offline: its row's dot and label follow. */
export function showPresence(region: HTMLElement, room: string, online: boolean): void {
  for (const wrap of region.querySelectorAll<HTMLElement>(`[data-room="${CSS.escape(room)}"] .avatar-wrap`)) {
    wrap.dataset.presence = online ? "online" : "offline";
    const label = wrap.querySelector(".presence-label");
    if (label) label.textContent = online ? "(online)" : "(offline)";
    const dot = wrap.querySelector(".online-dot");
    if (online && !dot) {
      const fresh = document.createElement("span");
      fresh.className = "online-dot";
      fresh.title = "Online";
      wrap.querySelector("img")?.after(fresh);
    } else if (!online) dot?.remove();
  }
}

/** The list's markup as the server last sent it, per list: a fetch that brings the same is not drawn. */
const served = new WeakMap<HTMLElement, string>();

/** Keeps the markup the page came with, before anything here changes it (times, marks, filter). */
export function rememberServed(region: HTMLElement): void {
  served.set(region, region.innerHTML);
}

/**
 * Puts the list of `html` (a page holding `#conversations`) in place of the one shown. Focus stays
 * where it was: on the same conversation if it was in this list, else untouched (the room page's
 * composer must never lose it to a refresh of the side list). False if `html` holds no list.
 * The same list as last drawn is left alone: the catch-up fetch on every (re)connection mostly
 * brings nothing new, and replacing every row under a reader's finger or pointer costs a redraw.
 */
export function redrawList(region: HTMLElement, html: string, refiltered: () => void): boolean {
  const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("conversations");
  if (!fresh) return false;
  if (served.get(region) === fresh.innerHTML) return true;
  served.set(region, fresh.innerHTML);
  const active = document.activeElement;
  const focusedRow = active && region.contains(active) ? active.closest("li")?.querySelector<HTMLElement>("a[data-room]") : null;
  const focused = focusedRow?.dataset.room;
  const onAction = Boolean(active?.closest(".row-action"));
  // The Archived section stays as open (or closed) as the reader left it.
  const archivedOpen = region.querySelector<HTMLDetailsElement>("details.archived")?.open;
  region.replaceChildren(...fresh.childNodes);
  const archived = region.querySelector<HTMLDetailsElement>("details.archived");
  if (archived && archivedOpen !== undefined) archived.open = archivedOpen;
  refiltered();
  relabelTimes(region);
  markCurrent(region);
  if (focused) {
    const link = region.querySelector<HTMLElement>(`a[data-room="${CSS.escape(focused)}"]`);
    // Without scrolling: the row may have moved (a new message puts it on top), the list stays put.
    (onAction ? link?.closest("li")?.querySelector<HTMLElement>(".row-action button") : link)?.focus({ preventScroll: true });
  }
  return true;
}
