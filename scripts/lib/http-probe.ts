/** One HTTP(S) request as a browser or attacker would send it, without following redirects. */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { IncomingHttpHeaders } from "node:http";

export type Answer = { status: number; headers: IncomingHttpHeaders; body: string };

/**
 * Sends `method url` and resolves with the status, headers and body. `localAddress` picks the
 * loopback source address (127.0.0.2, …), so a test can be a different client to nginx. The
 * path goes out as written (`/./signin` stays `/./signin`): URL would tidy it.
 */
export function probe(
  url: string,
  options: {
    method?: string;
    localAddress?: string;
    ca?: string | Buffer;
    headers?: Record<string, string>;
    body?: string | Buffer;
  } = {},
): Promise<Answer> {
  const u = new URL(url);
  const request = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        path: url.slice(u.origin.length) || "/",
        method: options.method ?? "GET",
        localAddress: options.localAddress,
        ca: options.ca,
        headers: options.headers,
        timeout: 5000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}
