/**
 * Server-rendered Handlebars views: one layout, shared partials, one template per page.
 * Templates are compiled once at start-up; `{{ }}` escapes, and no template uses the
 * unescaped `{{{ }}}` form except the layout's `body`, which is itself rendered HTML.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";

export const VIEWS_DIR = fileURLToPath(new URL("../views", import.meta.url));

export type Views = {
  /** Renders `pages/<page>.hbs` inside `layouts/<layout>.hbs`. */
  render(page: string, data: Record<string, unknown>, layout?: string): string;
};

function templatesIn(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".hbs")) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(relative(dir, path).slice(0, -".hbs".length).split(sep).join("/"), readFileSync(path, "utf8"));
  }
  return found;
}

export function loadViews(dir: string = VIEWS_DIR): Views {
  const hbs = Handlebars.create();
  for (const [name, source] of templatesIn(join(dir, "partials"))) hbs.registerPartial(name, source);
  hbs.registerHelper("year", () => new Date().getFullYear());
  hbs.registerHelper("eq", (a: unknown, b: unknown) => a === b);

  const compile = (sub: string) =>
    new Map([...templatesIn(join(dir, sub))].map(([name, source]) => [name, hbs.compile(source, { strict: false })]));
  const layouts = compile("layouts");
  const pages = compile("pages");

  return {
    render(page, data, layout = "main") {
      const pageTemplate = pages.get(page);
      const layoutTemplate = layouts.get(layout);
      if (!pageTemplate) throw new Error(`No view named pages/${page}.hbs`);
      if (!layoutTemplate) throw new Error(`No layout named layouts/${layout}.hbs`);
      return layoutTemplate({ ...data, body: pageTemplate(data) });
    },
  };
}
