/**
 * Runs in <head> before the first paint (a classic script, not a module): applies the theme the
 * reader chose in this browser, so a page never flashes in the other one. "system" (no choice)
 * leaves it to prefers-color-scheme.
 */
try {
  const theme = localStorage.getItem("duet:theme");
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
} catch {
  // No storage: the system's theme.
}
