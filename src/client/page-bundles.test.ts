/**
 * What each page's script carries, built as `npm run build:client` builds it: only the browser
 * code and the packages listed here. The chat page once carried the server's frame validator
 * (zod, 443 KiB of its 490 KiB) through a shared import.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const PAGES: Record<string, string[]> = {
  "chat.ts": [],
  "site.ts": [],
  "sw.ts": [],
  "passkeys.ts": ["@simplewebauthn/browser"],
};

const packageOf = (path: string) => {
  const rest = path.split("node_modules/").pop() ?? path;
  return rest
    .split("/")
    .slice(0, rest.startsWith("@") ? 2 : 1)
    .join("/");
};

describe("the pages' scripts", () => {
  for (const [entry, allowed] of Object.entries(PAGES)) {
    it(`${entry} bundles no package but ${allowed.join(", ") || "none"}, and no server module`, async () => {
      const result = await build({
        entryPoints: [fileURLToPath(new URL(`./${entry}`, import.meta.url))],
        bundle: true,
        format: "esm",
        target: "es2022",
        minify: true,
        write: false,
        metafile: true,
        outdir: "out",
        logLevel: "silent",
      });
      const inputs = Object.keys(result.metafile.inputs);
      const packages = [...new Set(inputs.filter((p) => p.includes("node_modules/")).map(packageOf))].sort();
      assert.deepEqual(packages, [...allowed].sort(), `${entry} pulls in: ${packages.join(", ")}`);
      // Shared with the server: only protocol.ts (types and limits); never models, config or crypto.
      const shared = inputs.filter((p) => p.startsWith("src/") && !p.startsWith("src/client/"));
      assert.deepEqual(
        shared.filter((p) => p !== "src/chat/protocol.ts"),
        [],
        `${entry} bundles server modules`,
      );
    });
  }
});
