/**
 * Archive and Unarchive on the list's own rows (issue #14), without leaving the list: the row's
 * form is posted with fetch, the list redrawn from the answer (the list page, where the action
 * redirects), the change announced, and the focus put where the row was, so a keyboard user goes
 * on from there. Without JavaScript, or when the post fails, the form is posted as a page.
 */
import { redrawList } from "./list-view.js";

export function setupRowActions(region: HTMLElement, refiltered: () => void): void {
  const status = document.createElement("p");
  status.className = "visually-hidden";
  status.id = "list-status";
  status.setAttribute("role", "status");
  region.before(status);

  /** The rows a reader can reach now: not filtered out, not in a closed Archived section. */
  const reachable = () =>
    [...region.querySelectorAll<HTMLElement>("a.conversation[data-room]")].filter(
      (link) => !link.closest("li")?.hidden && !link.closest("details:not([open])"),
    );

  async function act(form: HTMLFormElement): Promise<void> {
    const room = form.dataset.room ?? "";
    const archiving = form.dataset.action === "archive";
    const before = reachable();
    const at = before.findIndex((link) => link.dataset.room === room);
    form.querySelector("button")?.setAttribute("aria-disabled", "true");
    let html: string;
    try {
      const res = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form) as unknown as Record<string, string>),
        headers: { Accept: "text/html" },
      });
      if (!res.ok || !res.url.endsWith("/chat")) throw new Error(String(res.status));
      html = await res.text();
    } catch {
      return form.submit();
    }
    if (!redrawList(region, html, refiltered)) return form.submit();
    const name = form.dataset.name ?? "them";
    status.textContent = archiving
      ? `Archived the conversation with ${name}.`
      : `The conversation with ${name} is back in your chats.`;
    // Unarchived, it is in the list again: focus it. Archived, the row now in its place takes the focus.
    const after = reachable();
    const moved = after.find((link) => link.dataset.room === room);
    const next = moved ?? after[Math.min(Math.max(at, 0), after.length - 1)];
    (
      next ??
      region.querySelector<HTMLElement>("details.archived > summary") ??
      document.getElementById("conversation-filter")
    )?.focus();
  }

  region.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("row-action")) return;
    event.preventDefault();
    if (form.querySelector("[aria-disabled=true]")) return;
    void act(form);
  });
}
