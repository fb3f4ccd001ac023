/**
 * The pages' side of passkeys (routes: src/accounts/routes/passkeys.ts): asks the server for
 * options, lets the browser talk to the device (@simplewebauthn/browser), sends the signed
 * answer back. Bundled to /static/js/passkeys.js for the sign-in, two-factor and profile pages.
 * Buttons stay hidden in browsers that cannot use passkeys; every refusal is shown in the
 * element marked `data-passkey-status` next to the button, read out by screen readers.
 */
import { browserSupportsWebAuthn, startAuthentication, startRegistration } from "@simplewebauthn/browser";

/** A route's answer; refusals carry `error`: a message, or the app's `{ code, message }` (CSRF, limits). */
type Answer = { options?: unknown; error?: string | { message?: string }; ok?: boolean; redirect?: string };

async function post(url: string, csrf: string, body: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => ({}))) as Answer;
  if (!res.ok) {
    const error = typeof answer.error === "string" ? answer.error : answer.error?.message;
    throw new Error(error ?? "Something went wrong. Try again.");
  }
  return answer;
}

/** What to tell the user when the browser or device said no. */
function deviceProblem(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === "NotAllowedError") return "The passkey request was cancelled or timed out.";
    if (err.name === "InvalidStateError") return "This device already holds a passkey for your account.";
    return err.message;
  }
  return "Something went wrong. Try again.";
}

/** Runs one ceremony behind `button`, showing progress and problems in `status`. */
function wire(button: HTMLButtonElement, status: Element | null, run: () => Promise<void>): void {
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    if (status) status.textContent = "";
    try {
      await run();
    } catch (err) {
      if (status) status.textContent = deviceProblem(err);
    } finally {
      button.disabled = false;
    }
  });
}

/** Signs with a passkey: options from `base/options`, the answer to `base`; returns the server's answer. */
async function signWithPasskey(base: string, csrf: string, extra: Record<string, unknown> = {}): Promise<Answer> {
  const { options } = await post(`${base}/options`, csrf, {});
  const response = await startAuthentication({
    optionsJSON: options as Parameters<typeof startAuthentication>[0]["optionsJSON"],
  });
  return post(base, csrf, { response, ...extra });
}

function setup(): void {
  if (!browserSupportsWebAuthn()) return;

  for (const box of document.querySelectorAll<HTMLElement>("[data-passkey-signin], [data-passkey-second-factor]")) {
    const button = box.querySelector("button");
    if (!button) continue;
    const base = "passkeySignin" in box.dataset ? "/signin/passkey" : "/signin/two-factor/passkey";
    const csrf = box.dataset.csrf ?? "";
    box.hidden = false;
    wire(button, box.querySelector("[data-passkey-status]"), async () => {
      const answer = await signWithPasskey(base, csrf, { next: box.dataset.next ?? "" });
      window.location.assign(answer.redirect ?? "/profile");
    });
  }

  for (const box of document.querySelectorAll<HTMLElement>("[data-passkey-reauth]")) {
    const button = box.querySelector("button");
    if (!button) continue;
    box.hidden = false;
    wire(button, box.querySelector("[data-passkey-status]"), async () => {
      await signWithPasskey("/reauth/passkey", box.dataset.csrf ?? "");
      // Confirmed for ten minutes: the page now shows its forms without a password field.
      window.location.reload();
    });
  }

  const form = document.querySelector<HTMLFormElement>("form[data-passkey-add]");
  const addButton = form?.querySelector<HTMLButtonElement>("button[type=submit]");
  if (form && addButton) {
    const status = form.querySelector("[data-passkey-status]");
    form.addEventListener("submit", (event) => event.preventDefault());
    wire(addButton, status, async () => {
      const fields = new FormData(form);
      const csrf = String(fields.get("_csrf") ?? "");
      const currentPassword = String(fields.get("currentPassword") ?? "");
      const { options } = await post("/profile/passkeys/options", csrf, currentPassword ? { currentPassword } : {});
      const response = await startRegistration({
        optionsJSON: options as Parameters<typeof startRegistration>[0]["optionsJSON"],
      });
      const answer = await post("/profile/passkeys", csrf, { response, name: String(fields.get("name") ?? "") });
      window.location.assign(answer.redirect ?? "/profile/passkeys");
    });
  }
}

setup();
