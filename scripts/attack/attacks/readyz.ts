/**
 * Health probes from outside: /readyz and /healthz through nginx must say their status and
 * nothing else (no instance name, no check details with addresses), however the request dresses
 * up as a local caller or spells the path.
 */
import { openEdgeBrowser } from "../edge.js";
import { tally, type Attack } from "../types.js";

const LOCAL_DISGUISES: Array<Record<string, string>> = [
  {},
  { "X-Forwarded-For": "127.0.0.1" },
  { "X-Forwarded-For": "127.0.0.1, 127.0.0.1" },
  { "X-Real-IP": "127.0.0.1" },
  { Forwarded: "for=127.0.0.1" },
  { "X-Forwarded-Host": "127.0.0.1", Host: "127.0.0.1" },
  { Accept: "application/json" },
];
const PATHS = [
  "/readyz",
  "/healthz",
  "/readyz?verbose=1",
  "/readyz/",
  "/READYZ",
  "//readyz",
  "/%72eadyz",
  "/readyz;x",
  "/readyz%3F",
];

export const readyzDetails: Attack = {
  name: "/readyz details",
  async run({ effort }) {
    const t = tally();
    const browser = openEdgeBrowser();
    const paths = effort === "short" ? PATHS.slice(0, 5) : PATHS;
    for (const path of paths)
      for (const headers of LOCAL_DISGUISES)
        for (const method of effort === "short" ? ["GET"] : ["GET", "HEAD"]) {
          const res = await browser.request(path, { method, headers });
          let extra: string[] = [];
          try {
            const body = res.html ? (JSON.parse(res.html) as Record<string, unknown>) : {};
            // A probe's answer has its status only; anything else JSON is an error answer.
            if ("status" in body) extra = Object.keys(body).filter((k) => k !== "status");
          } catch {
            // Not JSON (the site's 404 page): judged by the words below.
          }
          const leaked = extra.length > 0 || /instance|checks|mongodb|redis|app-\d|127\.0\.0\.1:\d+/i.test(res.html);
          t.attempt(!leaked, `${method} ${path} ${JSON.stringify(headers)} answered ${res.status} ${res.html.slice(0, 120)}`);
        }
    return t.outcome;
  },
};
