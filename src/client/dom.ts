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
