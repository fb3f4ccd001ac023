/**
 * Server-rendered Handlebars views: one layout, shared partials, one template per page.
 * Templates are compiled once at start-up; `{{ }}` escapes, and no template uses the
 * unescaped `{{{ }}}` form except the layout's `body`, which is itself rendered HTML.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";

export const VIEWS_DIR = fileURLToPath(new URL("../views", import.meta.url));
/** Built static files (scripts/build-static): views/static plus fingerprinted copies. */
export const BUILT_STATIC_DIR = fileURLToPath(new URL("../dist/static", import.meta.url));

/** original name → fingerprinted name; empty before the first build (development). */
function readManifest(): Record<string, string> {
  const file = join(BUILT_STATIC_DIR, "manifest.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
}

let builtAssets: Record<string, string> | undefined;
/** `/static/<fingerprinted name>` of a static file (its plain name before the first build). */
export function assetPath(name: string): string {
  builtAssets ??= readManifest();
  return `/static/${builtAssets[name] ?? name}`;
}

export type Views = {
  /** Renders `pages/<page>.hbs` inside `layouts/<layout>.hbs`. */
  render(page: string, data: Record<string, unknown>, layout?: string): string;
  /** Renders `emails/<name>.text.hbs` and `.html.hbs`; the subject is the text part's first line. */
  renderEmail(name: string, data: Record<string, unknown>): { subject: string; text: string; html: string };
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
  // For ids made per list item ("rename-0"): the last argument is Handlebars' options object.
  hbs.registerHelper("concat", (...parts: unknown[]) => parts.slice(0, -1).map(String).join(""));
  const manifest = readManifest();
  hbs.registerHelper("asset", (name: unknown) => `/static/${manifest[String(name)] ?? String(name)}`);
  hbs.registerHelper("date", (value: unknown) => formatDate(value));
  hbs.registerHelper("device", (userAgent: unknown) => describeDevice(typeof userAgent === "string" ? userAgent : ""));

  // Plain-text emails are not HTML: escaping there would turn "O'Brien" into "O&#x27;Brien".
  const compile = (sub: string) =>
    new Map(
      [...templatesIn(join(dir, sub))].map(([name, source]) => [name, hbs.compile(source, { noEscape: name.endsWith(".text") })]),
    );
  const layouts = compile("layouts");
  const pages = compile("pages");
  const emails = compile("emails");

  return {
    render(page, data, layout = "main") {
      const pageTemplate = pages.get(page);
      const layoutTemplate = layouts.get(layout);
      if (!pageTemplate) throw new Error(`No view named pages/${page}.hbs`);
      if (!layoutTemplate) throw new Error(`No layout named layouts/${layout}.hbs`);
      return layoutTemplate({ ...data, body: pageTemplate(data) });
    },
    renderEmail(name, data) {
      const text = emails.get(`${name}.text`);
      const html = emails.get(`${name}.html`);
      const layout = emails.get("layout.html");
      if (!text || !html || !layout) throw new Error(`Email ${name} needs emails/${name}.text.hbs and .html.hbs`);
      const [subject = "", ...rest] = text(data).split("\n");
      return {
        subject: subject.replace(/^Subject:\s*/, ""),
        text: rest.join("\n").trim() + "\n",
        html: layout({ ...data, body: html(data) }),
      };
    },
  };
}

/** "2026-11-22 14:05 UTC": unambiguous for every reader, whatever their locale. */
export function formatDate(value: unknown): string {
  const date =
    value instanceof Date ? value : typeof value === "number" || typeof value === "string" ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.getTime() === 0) return "unknown";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** "Firefox on Linux" from a User-Agent, for the list of signed-in devices. */
export function describeDevice(userAgent: string): string {
  const browser = [
    ["Edg/", "Edge"],
    ["Firefox/", "Firefox"],
    ["Chrome/", "Chrome"],
    ["Safari/", "Safari"],
  ].find(([token]) => userAgent.includes(token ?? ""))?.[1];
  const system = [
    ["Android", "Android"],
    ["iPhone", "iPhone"],
    ["iPad", "iPad"],
    ["Windows", "Windows"],
    ["Mac OS X", "macOS"],
    ["Linux", "Linux"],
  ].find(([token]) => userAgent.includes(token ?? ""))?.[1];
  if (!browser && !system) return "Unknown device";
  return [browser ?? "Browser", system ? `on ${system}` : ""].join(" ").trim();
}
