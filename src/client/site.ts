/**
 * What every page does: the theme toggle (system, light, dark; kept in this browser), the header
 * menu (Escape and a click elsewhere close it), times shown in the reader's own zone with relative
 * labels, and on the conversation list, live updates over /ws/inbox. Bundled to /static/js/site.js.
 */
import type { InboxFrame } from "../chat/protocol.js";
import { listTimeLabel } from "./format.js";
import { registerWorker, setupPushCard } from "./push.js";
import { setupListFilter } from "./list-filter.js";
import { reportVisibility } from "./visibility.js";
import { showOfflineQueue } from "./offline-queue.js";

type Theme = "system" | "light" | "dark";
const THEMES: Theme[] = ["system", "light", "dark"];
const ICONS: Record<Theme, string> = { system: "◐", light: "☀", dark: "☾" };

function currentTheme(): Theme {
  const set = document.documentElement.dataset.theme;
  return set === "light" || set === "dark" ? set : "system";
}

function setupTheme(): void {
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  const show = () => {
    const theme = currentTheme();
    button.setAttribute("aria-label", `Colour theme: ${theme}. Change`);
    button.title = `Colour theme: ${theme}`;
    const icon = button.querySelector(".theme-icon");
    if (icon) icon.textContent = ICONS[theme];
  };
  button.addEventListener("click", () => {
    const next = THEMES[(THEMES.indexOf(currentTheme()) + 1) % THEMES.length] ?? "system";
    if (next === "system") delete document.documentElement.dataset.theme;
    else document.documentElement.dataset.theme = next;
    try {
      if (next === "system") localStorage.removeItem("duet:theme");
      else localStorage.setItem("duet:theme", next);
    } catch {
      // No storage: the choice lasts as long as the page.
    }
    show();
  });
  show();
}

function setupMenus(): void {
  const menus = [...document.querySelectorAll<HTMLDetailsElement>("details.nav-menu, details.chat-menu")];
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of menus)
      if (menu.open) {
        menu.open = false;
        menu.querySelector("summary")?.focus();
      }
  });
  document.addEventListener("click", (event) => {
    for (const menu of menus) if (menu.open && !menu.contains(event.target as Node)) menu.open = false;
  });
}

/** Server-rendered times are UTC; here they become the reader's own ("21:20", "Yesterday", "Mon"). */
export function relabelTimes(scope: ParentNode = document): void {
  for (const time of scope.querySelectorAll<HTMLTimeElement>("time[data-relative]")) {
    const date = new Date(time.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    time.textContent = listTimeLabel(date);
    time.title = date.toLocaleString();
  }
}

/** In the room page's side list: the open conversation is marked as the current one. */
function markCurrent(region: HTMLElement): void {
  const current = region.dataset.current;
  if (!current) return;
  for (const link of region.querySelectorAll<HTMLElement>("[data-room]")) {
    if (link.dataset.room === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// The side list keeps its scroll from one conversation to the next (each is its own page).
const SCROLL_KEY = "duet:list-scroll";
let scrollRestored = false;
function restoreScroll(): void {
  const scroller = document.getElementById("shell-list");
  if (!scroller || scrollRestored) return;
  scrollRestored = true;
  scroller.scrollTop = Number(sessionStorage.getItem(SCROLL_KEY) ?? 0);
  window.addEventListener("pagehide", () => sessionStorage.setItem(SCROLL_KEY, String(scroller.scrollTop)));
}

const REFRESH_GAP_MS = 1000;

/** The other member of `room` came online or went offline: its row's dot and label follow. */
function showPresence(region: HTMLElement, room: string, online: boolean): void {
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

/** The conversation list, kept current: the inbox socket says which rooms changed; the list is fetched again. */
function setupLiveList(region: HTMLElement, refiltered: () => void): void {
  let fetching: Promise<void> | undefined;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (fetching) {
      again = true;
      return;
    }
    fetching = (async () => {
      try {
        const res = await fetch(region.dataset.source ?? location.pathname, {
          headers: { Accept: "text/html" },
          cache: "no-store",
        });
        if (!res.ok) return;
        const fresh = new DOMParser().parseFromString(await res.text(), "text/html").getElementById("conversations");
        if (!fresh) return;
        // Focus stays where it was: on the same conversation if it was in this list, else untouched
        // (the room page's composer must never lose it to a refresh of the side list).
        const active = document.activeElement;
        const focused = active && region.contains(active) ? active.closest<HTMLElement>("[data-room]")?.dataset.room : undefined;
        // The Archived section stays as open (or closed) as the reader left it.
        const archivedOpen = region.querySelector<HTMLDetailsElement>("details.archived")?.open;
        region.replaceChildren(...fresh.childNodes);
        const archived = region.querySelector<HTMLDetailsElement>("details.archived");
        if (archived && archivedOpen !== undefined) archived.open = archivedOpen;
        refiltered();
        relabelTimes(region);
        markCurrent(region);
        restoreScroll();
        if (focused) region.querySelector<HTMLElement>(`[data-room="${focused}"]`)?.focus();
        // At most one list fetch every REFRESH_GAP_MS per open list: each one costs the server a
        // query per conversation, and a burst of messages needs only the last state.
        await new Promise((resolve) => window.setTimeout(resolve, REFRESH_GAP_MS));
      } finally {
        fetching = undefined;
      }
    })();
    await fetching;
    if (again) {
      again = false;
      await refresh();
    }
  };

  let attempt = 0;
  const open = () => {
    const url = new URL("/ws/inbox", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    reportVisibility(ws);
    ws.addEventListener("message", (event) => {
      const frame = JSON.parse(String(event.data)) as InboxFrame;
      if (frame.type === "presence") return showPresence(region, frame.room, frame.online);
      if (frame.type !== "inbox") return;
      attempt = 0;
      region.dataset.live = "true";
      // [] on connecting: what changed between rendering the page and now is fetched too.
      void refresh();
    });
    ws.addEventListener("close", (event) => {
      region.dataset.live = "false";
      if (event.code === 4401) return location.assign(`/signin?next=${encodeURIComponent(location.pathname)}`);
      attempt++;
      window.setTimeout(open, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
    });
  };
  open();
  // Times like "Yesterday" move on by themselves.
  window.setInterval(() => relabelTimes(region), 60_000);
}

setupTheme();
setupMenus();
void registerWorker();
void setupPushCard();
showOfflineQueue();
relabelTimes();
const region = document.getElementById("conversations");
if (region?.hasAttribute("data-live")) {
  const refilter = setupListFilter(region);
  // The room page's side list shows only on wide screens: on a phone it starts when it would show.
  const wide = window.matchMedia("(min-width: 901px)");
  const start = () => {
    // Beside a conversation, the list waits until the conversation's own history is in: each list
    // fetch costs the server a query per conversation, and the open one comes first.
    const chat = document.getElementById("chat");
    if (!chat || chat.dataset.loaded === "true") return setupLiveList(region, refilter);
    const watch = new MutationObserver(() => {
      if (chat.dataset.loaded !== "true") return;
      watch.disconnect();
      setupLiveList(region, refilter);
    });
    watch.observe(chat, { attributes: true, attributeFilter: ["data-loaded"] });
  };
  if (!region.dataset.source || wide.matches) start();
  else wide.addEventListener("change", start, { once: true });
}
