/**
 * Filters the conversation list by name as the reader types (in the page: the list is at most
 * 200 conversations, all drawn). Archived ones are searched too; their section opens when one
 * matches. Escape clears the filter. Applied again whenever the live list is redrawn.
 */
export function setupListFilter(region: HTMLElement): () => void {
  const input = document.getElementById("conversation-filter");
  const status = document.getElementById("conversation-filter-status");
  if (!(input instanceof HTMLInputElement)) return () => undefined;
  let archivedWasOpen: boolean | undefined;

  const apply = () => {
    const query = input.value.trim().toLowerCase();
    let shown = 0;
    for (const link of region.querySelectorAll<HTMLElement>("a.conversation[data-name]")) {
      const match = !query || (link.dataset.name ?? "").toLowerCase().includes(query);
      const row = link.closest("li");
      if (row) row.hidden = !match;
      if (match) shown++;
    }
    const archived = region.querySelector<HTMLDetailsElement>("details.archived");
    if (archived) {
      const hits = [...archived.querySelectorAll("li")].some((li) => !li.hidden);
      if (query) {
        archivedWasOpen ??= archived.open;
        archived.open = hits;
        archived.hidden = !hits;
      } else {
        archived.hidden = false;
        if (archivedWasOpen !== undefined) archived.open = archivedWasOpen;
        archivedWasOpen = undefined;
      }
    }
    if (status)
      status.textContent = !query
        ? ""
        : shown === 0
          ? "No conversation matches that name."
          : `${shown} ${shown === 1 ? "conversation matches" : "conversations match"}.`;
    region.classList.toggle("filtered-empty", Boolean(query) && shown === 0);
  };
  input.addEventListener("input", apply);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && input.value) {
      event.stopPropagation();
      input.value = "";
      apply();
    } else if (event.key === "ArrowDown") {
      const first = [...region.querySelectorAll<HTMLElement>("a.conversation")].find((a) => !a.closest("li")?.hidden);
      if (first) {
        event.preventDefault();
        first.focus();
      }
    }
  });
  return apply;
}
