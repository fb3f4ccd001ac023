import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ROOT } from "../lib/settings.js";
import { ROUTES } from "./routes.js";

/** Every `router.get|post(path, …)` in the app's source, as "METHOD /path" with :params. */
function declaredRoutes(): string[] {
  const found: string[] = [];
  const constants: Record<string, string> = {};
  const files = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" }).filter(
    (f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.startsWith("test/"),
  );
  const sources = files.map((f) => readFileSync(join(ROOT, "src", f), "utf8"));
  for (const source of sources)
    for (const [, name = "", value = ""] of source.matchAll(/export const (\w+_PATH) = "([^"]+)"/g)) constants[name] = value;
  for (const source of sources) {
    for (const [, method = "", arg = ""] of source.matchAll(/router\.(get|post|put|patch|delete|all)\(\s*([^,]+),/g)) {
      let path = arg.trim();
      if (/^["`]/.test(path)) path = path.slice(1, -1);
      else path = constants[path] ?? path;
      // The block/unblock/hide loop: `/chat/:room/${action}`.
      const actions = /\$\{action\}/.test(path) ? ["block", "unblock", "hide"] : [undefined];
      for (const action of actions) found.push(`${method.toUpperCase()} ${action ? path.replace("${action}", action) : path}`);
    }
  }
  return found;
}

describe("the form fuzzer's route list", () => {
  it("names every route the routers declare, and the health probes", () => {
    const listed = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
    const declared = declaredRoutes();
    assert.ok(declared.length > 30, `found only ${declared.length} routes: the pattern no longer matches the routers`);
    const missing = declared.filter((r) => !listed.has(r));
    assert.deepEqual(missing, [], "routes the fuzzer does not send: add them to scripts/attack/routes.ts");
    for (const probe of ["GET /healthz", "GET /readyz"]) assert.ok(listed.has(probe));
  });
});
