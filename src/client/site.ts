/**
 * What every page does: the theme toggle (system, light, dark; kept in this browser), the header
 * menu (Escape and a click elsewhere close it), times shown in the reader's own zone with relative
 * labels, and on the conversation list, live updates over /ws/inbox. Bundled to /static/js/site.js.
 */
import type { InboxFrame } from "../chat/protocol.js";
import { registerWorker, setupPushCard } from "./push.js";
import { setupListFilter } from "./list-filter.js";
import { redrawList, relabelTimes, rememberServed, showPresence } from "./list-view.js";
import { setupRowActions } from "./row-actions.js";
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
  // Looked up at each event: the conversation pane (and its menu) is replaced when switching.
  const openMenus = () => document.querySelectorAll<HTMLDetailsElement>("details.nav-menu[open], details.chat-menu[open]");
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const menu of openMenus()) {
      menu.open = false;
      menu.querySelector("summary")?.focus();
    }
  });
  document.addEventListener("click", (event) => {
    for (const menu of openMenus()) if (!menu.contains(event.target as Node)) menu.open = false;
  });
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
        if (!redrawList(region, await res.text(), refiltered)) return;
        region.dataset.synced = "true";
        restoreScroll();
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
      region.dataset.synced = "false";
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
const region = document.getElementById("conversations");
if (region) rememberServed(region);
relabelTimes();
if (region?.hasAttribute("data-live")) {
  const refilter = setupListFilter(region);
  setupRowActions(region, refilter);
  // The room page's side list shows only on wide screens: on a phone it starts when it would show.
  const wide = window.matchMedia("(min-width: 901px)");
  const start = () => {
    // Beside a conversation, the list waits until the conversation's own history is in: each list
    // fetch costs the server a query per conversation, and the open one comes first.
    // Watched on the body: the conversation pane may be replaced by another before it has loaded.
    const loaded = () => {
      const chat = document.getElementById("chat");
      return !chat || chat.dataset.loaded === "true";
    };
    if (loaded()) return setupLiveList(region, refilter);
    const watch = new MutationObserver(() => {
      if (!loaded()) return;
      watch.disconnect();
      setupLiveList(region, refilter);
    });
    watch.observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-loaded"] });
  };
  if (!region.dataset.source || wide.matches) start();
  else wide.addEventListener("change", start, { once: true });
}
