/**
 * Notifications in this browser (Web Push): registers the service worker (/sw.js) on every page,
 * and turns push on or off through Duet's API (/api/push/subscription, one per browser). Used by
 * the profile's Notifications card and the conversation menu's "Turn on notifications".
 */

type PushInfo = { publicKey: string; subscribed: boolean };

const csrfToken = () => document.querySelector<HTMLInputElement>('input[name="_csrf"]')?.value ?? "";

/** Registers the service worker (the app shell offline, and notifications); never throws. */
export function registerWorker(): Promise<ServiceWorkerRegistration | undefined> {
  if (!("serviceWorker" in navigator)) return Promise.resolve(undefined);
  return navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
}

export const pushSupported = () => "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

/** The server's VAPID key and whether this browser is subscribed; undefined when push is off. */
export async function pushInfo(): Promise<PushInfo | undefined> {
  const response = await fetch("/api/push", { headers: { accept: "application/json" } });
  return response.ok ? ((await response.json()) as PushInfo) : undefined;
}

/** Asks for permission, subscribes with the push service, and registers the subscription. */
export async function turnOn(info: PushInfo): Promise<string | undefined> {
  if ((await Notification.requestPermission()) !== "granted")
    return "Notifications are blocked for this site: allow them in the browser's site settings.";
  const registration = await navigator.serviceWorker.ready;
  let subscription: PushSubscription;
  try {
    subscription =
      (await registration.pushManager.getSubscription()) ??
      (await registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: fromBase64url(info.publicKey),
      }));
  } catch {
    return "This browser could not reach its push service. Try again later.";
  }
  return send("/api/push/subscription", subscription.toJSON());
}

export async function turnOff(): Promise<string | undefined> {
  const registration = await navigator.serviceWorker.getRegistration("/");
  await (await registration?.pushManager.getSubscription())?.unsubscribe().catch(() => false);
  return send("/api/push/subscription/remove");
}

async function send(path: string, body?: unknown): Promise<string | undefined> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrfToken() },
    body: JSON.stringify(body ?? {}),
  });
  if (response.ok) return undefined;
  const answer = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
  return answer.error?.message ?? "Something went wrong. Try again.";
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** The profile's Notifications card: its state, and the on and off buttons. */
export async function setupPushCard(): Promise<void> {
  const state = document.getElementById("push-state");
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");
  if (!state || !on || !off) return;
  if (!pushSupported()) {
    state.textContent = "This browser can't show notifications from websites.";
    return;
  }
  const info = await pushInfo().catch(() => undefined);
  if (!info) return;
  const show = (subscribed: boolean, problem?: string) => {
    state.textContent =
      problem ?? (subscribed ? "Notifications are on in this browser." : "Notifications are off in this browser.");
    on.hidden = subscribed;
    off.hidden = !subscribed;
  };
  show(info.subscribed && Notification.permission === "granted");
  on.addEventListener("click", () => void turnOn(info).then((problem) => show(!problem, problem)));
  off.addEventListener("click", () => void turnOff().then((problem) => show(Boolean(problem), problem)));
}

/** The conversation menu's offer: shown while this browser has not decided about notifications. */
export async function offerInConversation(button: HTMLButtonElement): Promise<void> {
  if (!pushSupported() || Notification.permission !== "default") return;
  const info = await pushInfo().catch(() => undefined);
  button.hidden = false;
  button.addEventListener("click", () => {
    // Without push on the server, permission alone still lets an open tab notify (chat.ts).
    const done = info ? turnOn(info) : Notification.requestPermission();
    void done.then(() => (button.hidden = true));
  });
}
