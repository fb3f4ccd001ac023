/** `scripts/stack up|down|status|stop NAME|start NAME`: see scripts/lib/stack.ts. */
import { down, startOne, status, stopOne, up } from "./stack.js";
import { stackSettings } from "./settings.js";

const log = (line: string) => process.stdout.write(`[stack] ${line}\n`);
const [command = "status", name] = process.argv.slice(2);

async function main(): Promise<number> {
  const settings = stackSettings();
  switch (command) {
    case "up": {
      const env = await up(settings, log);
      process.stdout.write(`\nDuet is up: ${env.APP_URL}\nMail inbox:  ${env.MAIL_URL}\nAddresses:   ${settings.dir}/env\n`);
      return 0;
    }
    case "down":
      await down(settings, log);
      return 0;
    case "status": {
      const rows = await status(settings);
      for (const row of rows) process.stdout.write(`${row.name.padEnd(9)} ${row.state}${row.pid ? ` (pid ${row.pid})` : ""}\n`);
      return rows.every((r) => r.state === "ready") ? 0 : 3;
    }
    case "stop":
    case "start":
      if (!name) throw new Error(`usage: scripts/stack ${command} NAME`);
      if (command === "stop") {
        await stopOne(settings, name);
        log(`${name} stopped`);
      } else log(`${name} ${await startOne(settings, name)}`);
      return 0;
    default:
      process.stderr.write("usage: scripts/stack up|down|status|stop NAME|start NAME\n");
      return 64;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[stack] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
