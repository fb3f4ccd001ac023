/** Small DOM helpers the page modules share. User text only ever goes in as a text node. */

/** A new element with its class and text. */
export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};

/** The element `selector` finds under `root`, which the page's markup must have. */
export function required<T extends Element>(root: ParentNode, selector: string, what: string): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`${what} lacks ${selector}`);
  return found;
}

/** Finds the parts `root` must have, each by selector (`what` names `root` in the error). */
export const partsOf =
  (root: ParentNode, what: string) =>
  <T extends Element>(selector: string): T =>
    required<T>(root, selector, what);

/** A line icon (24×24, drawn in the current colour), hidden from assistive technology: its button has the label. */
export function strokeIcon(paths: readonly string[]): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  for (const d of paths) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("stroke-linecap", "round");
    path.setAttribute("stroke-linejoin", "round");
    svg.append(path);
  }
  return svg;
}
