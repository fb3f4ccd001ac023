/**
 * Duet's service worker, served at /sw.js (src/pages/app-shell.ts puts the app shell's list
 * before this code). It does three things only:
 * - keeps the app shell (styles, scripts, icons, the offline page: the same for everyone) so the
 *   app opens offline; pages and API answers are never cached, they are a user's own;
 * - shows a push as a notification ("New message from NAME"; the payload holds the start of the
 *   message only for a user who opted in to that on their profile);
 * - opens or focuses the conversation when the notification is clicked.
 */

// The few service worker types used here (the DOM and WebWorker libraries cannot be combined).
type Clientish = { url: string; focus?: () => Promise<unknown>; navigate?: (url: string) => Promise<unknown> };
type Waitable = Event & { waitUntil(p: Promise<unknown>): void };
type FetchEventish = Event & { request: Request; respondWith(r: Promise<Response>): void };
type PushEventish = Waitable & { data: { json(): unknown } | null };
type NotificationEventish = Waitable & { notification: Notification };
type Worker = typeof globalThis & {
  DUET_SHELL: { version: string; offline: string; icon: string; assets: string[] };
  registration: ServiceWorkerRegistration;
  clients: {
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<Clientish[]>;
    openWindow(url: string): Promise<unknown>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  /** The click path, callable by the browser tests (a synthetic event cannot wait). */
  openConversation(path: string): Promise<void>;
};
const sw = self as unknown as Worker;
const shell = sw.DUET_SHELL;
const CACHE = `duet-shell-${shell.version}`;
// A room id as chat/rooms.ts makes it (the worker bundles none of the server's code).
const ROOM_ID = "[A-Za-z0-9_-]{22}";
const ROOM_PATH = new RegExp(`^/chat/${ROOM_ID}$`);
const isRoomId = (s: string) => new RegExp(`^${ROOM_ID}$`).test(s);

sw.addEventListener("install", (event) => {
  (event as Waitable).waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([shell.offline, ...shell.assets]))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event) => {
  (event as Waitable).waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("duet-shell-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (event) => {
  const { request } = event as FetchEventish;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  if (request.mode === "navigate") {
    // Pages always come from the server; offline, the shell page stands in (it holds no one's data).
    (event as FetchEventish).respondWith(
      fetch(request).catch(async () => (await caches.match(shell.offline, { cacheName: CACHE })) ?? Response.error()),
    );
    return;
  }
  if (shell.assets.includes(url.pathname))
    (event as FetchEventish).respondWith(caches.match(request, { cacheName: CACHE }).then((hit) => hit ?? fetch(request)));
});

sw.addEventListener("push", (event) => {
  const push = event as PushEventish;
  let data: { title?: unknown; room?: unknown; body?: unknown } = {};
  try {
    data = (push.data?.json() ?? {}) as typeof data;
  } catch {
    data = {};
  }
  const room = typeof data.room === "string" && isRoomId(data.room) ? data.room : undefined;
  const title = typeof data.title === "string" && data.title ? data.title.slice(0, 120) : "New message";
  const body = typeof data.body === "string" && data.body ? data.body.slice(0, 200) : "Open Duet to read it.";
  push.waitUntil(
    sw.registration.showNotification(title, {
      body,
      // One notification per conversation: a newer one replaces it.
      tag: room ?? "duet",
      icon: shell.icon,
      data: { url: room ? `/chat/${room}` : "/chat" },
    }),
  );
});

sw.openConversation = async (path) => {
  const target = new URL(ROOM_PATH.test(path) ? path : "/chat", sw.location.origin).href;
  const windows = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((w) => w.url === target) ?? windows[0];
  if (!open) {
    await sw.clients.openWindow(target);
    return;
  }
  // navigate() works on a window this worker controls; any other gets a new window.
  if (
    open.url !== target &&
    !(await open.navigate?.(target).then(
      () => true,
      () => false,
    ))
  ) {
    await sw.clients.openWindow(target);
    return;
  }
  await open.focus?.().catch(() => undefined);
};

sw.addEventListener("notificationclick", (event) => {
  const click = event as NotificationEventish;
  click.notification.close();
  const data = click.notification.data as { url?: unknown } | null;
  click.waitUntil(sw.openConversation(typeof data?.url === "string" ? data.url : "/chat"));
});
