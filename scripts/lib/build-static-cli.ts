/** `scripts/build-static [SOURCE_DIR] [OUT_DIR]`: views/static → dist/static with fingerprints. */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { renderErrorPages } from "./error-pages.js";
import { buildStaticAssets } from "./static-assets.js";

const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const [source = resolve(root, "views", "static"), out = resolve(root, "dist", "static")] = process.argv.slice(2);
const manifest = buildStaticAssets(source, out);
const pages = renderErrorPages(out);
console.log(`[build-static] ${Object.keys(manifest).length} fingerprinted assets and ${pages.length} error pages in ${out}`);
