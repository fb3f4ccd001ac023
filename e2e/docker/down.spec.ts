/**
 * Issue #17, step 6: `docker compose down -v` leaves nothing of the project behind: no
 * container, volume or network. (The images stay: they are the build cache of the next run.)
 * The logs are kept first, in DOCKER_STACK_DIR/compose.log, for scripts/docker-test to show.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "@playwright/test";
import { compose, PRODUCTION, PROJECT } from "./support/compose.js";

const run = promisify(execFile);
// Every service either stack had, so `down` finds them all.
const everything = { COMPOSE_PROFILES: "local", DOMAIN: "chat.duet.test", SMTP_URL: "smtp://maildev:1025", MAIL_FROM: "x" };

test("docker compose down -v removes every container, volume and network of the project", async () => {
  const logs = await compose(PRODUCTION, ["logs", "--no-color", "--timestamps"], everything).catch((err: Error) => err.message);
  writeFileSync(join(process.env.DOCKER_STACK_DIR ?? ".", "compose.log"), logs);

  await compose(PRODUCTION, ["down", "-v", "--remove-orphans", "--timeout", "5"], everything);
  const label = `label=com.docker.compose.project=${PROJECT}`;
  const left = async (kind: string[]) => (await run("docker", [...kind, "--filter", label, "-q"])).stdout.trim();
  expect(await left(["ps", "-a"]), "containers").toBe("");
  expect(await left(["volume", "ls"]), "volumes").toBe("");
  expect(await left(["network", "ls"]), "networks").toBe("");
});
