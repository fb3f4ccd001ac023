/** Runs attacks one after another, each bounded in time, and collects what they report. */
import type { Backstage } from "./backstage.js";
import type { AttackResult } from "./report.js";
import type { Attack, Effort } from "./types.js";

export async function runAttacks(
  attacks: readonly Attack[],
  options: { effort: Effort; backstage: Backstage; timeoutMs: number; log(line: string): void },
): Promise<AttackResult[]> {
  const results: AttackResult[] = [];
  for (const attack of attacks) {
    const started = Date.now();
    const log = (line: string) => options.log(`[${attack.name}] ${line}`);
    log("starting");
    let timer: NodeJS.Timeout | undefined;
    const overtime = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    });
    try {
      const outcome = await Promise.race([attack.run({ effort: options.effort, backstage: options.backstage, log }), overtime]);
      results.push({ attack: attack.name, ...outcome, seconds: (Date.now() - started) / 1000 });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      results.push({ attack: attack.name, attempts: 0, letThrough: 0, notes: [], error, seconds: (Date.now() - started) / 1000 });
    } finally {
      clearTimeout(timer);
    }
    const last = results.at(-1);
    log(`done: ${last?.attempts} attempts, ${last?.error ? `error: ${last.error}` : `${last?.letThrough} let through`}`);
  }
  return results;
}
