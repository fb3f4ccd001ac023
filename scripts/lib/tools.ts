/**
 * Where scripts/install puts the tools it builds or pip-installs (not Debian packages):
 * ${DUET_TOOLS_DIR:-~/.cache/duet}. The versions are pinned in scripts/install.
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const TOOLS_DIR = process.env.DUET_TOOLS_DIR ?? join(homedir(), ".cache", "duet");

const paths = {
  /** compose-go's loader as a command: merges and checks compose files like `docker compose config`. */
  composeConfig: join(TOOLS_DIR, "compose-config", "compose-config"),
  /** The Compose Specification's JSON schema, as shipped in the compose-go module. */
  composeSchema: join(TOOLS_DIR, "compose-config", "compose-spec.json"),
  hadolint: join(TOOLS_DIR, "python", "bin", "hadolint"),
  /** The scanner's own entry (src/scan.js): its bin replaces NODE_EXTRA_CA_CERTS with a bundle of its own. */
  observatory: join(TOOLS_DIR, "observatory", "node_modules", "@mdn", "mdn-http-observatory", "src", "scan.js"),
};

/** The path of an installed tool; throws with the fix if scripts/install has not put it there. */
export function tool(name: keyof typeof paths): string {
  const path = paths[name];
  if (!existsSync(path)) throw new Error(`${path} is missing: run scripts/install`);
  return path;
}
