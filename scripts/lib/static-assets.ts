/**
 * Build step for the files nginx serves under /static/: copies views/static into dist/static
 * and adds a fingerprinted copy of each asset (`css/duet.css` → `css/duet.1a2b3c4d5e.css`),
 * whose name changes whenever its content does, so nginx can let browsers cache it for a
 * year. `manifest.json` maps each original name to its fingerprinted one, for the layout.
 *
 * Self-contained (no imports from the project), so the Docker build stage can run it alone.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, extname, join, relative, sep } from "node:path";

/** Extensions worth fingerprinting: files a page links to. HTML pages keep their names. */
const FINGERPRINTED = new Set([".css", ".js", ".mjs", ".svg", ".png", ".jpg", ".jpeg", ".webp", ".ico", ".woff2"]);

export type Manifest = Record<string, string>;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join("/"))
    .sort();
}

/** The name with 10 hex digits of the content's SHA-256 before the extension. */
export function fingerprintedName(name: string, content: Buffer): string {
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 10);
  const ext = extname(name);
  return `${name.slice(0, name.length - ext.length)}.${hash}${ext}`;
}

/** Copies `sourceDir` into `outDir` with fingerprinted copies; returns the manifest it wrote. */
export function buildStaticAssets(sourceDir: string, outDir: string): Manifest {
  // Older fingerprinted copies are kept: app processes still running from an earlier build (a
  // developer's stack while the tests build theirs) keep linking to them until they restart.
  cpSync(sourceDir, outDir, { recursive: true });
  const manifest: Manifest = {};
  for (const name of filesUnder(sourceDir)) {
    if (!FINGERPRINTED.has(extname(name))) continue;
    const content = readFileSync(join(sourceDir, name));
    const hashed = fingerprintedName(name, content);
    mkdirSync(dirname(join(outDir, hashed)), { recursive: true });
    writeFileSync(join(outDir, hashed), content);
    manifest[name] = hashed;
  }
  writeFileSync(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}
