import { BlockList, isIPv4, isIPv6 } from "node:net";
import type { Middleware } from "koa";

// Headers only a proxy we run may set. From anyone else they are forged: a client could
// otherwise claim any IP (dodging rate limits) or claim https on a plain connection.
const PROXY_HEADERS = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "x-request-id"];

/** Builds a matcher for addresses and CIDR ranges such as `127.0.0.1`, `::1` or `172.16.0.0/12`. */
export function proxyMatcher(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", bits] = entry.split("/");
    const family = isIPv6(address) ? "ipv6" : "ipv4";
    if (!isIPv4(address) && !isIPv6(address)) throw new Error(`TRUSTED_PROXIES: ${entry} is not an IP address or CIDR range`);
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    if (!address) return false;
    const mapped = address.startsWith("::ffff:") ? address.slice(7) : address;
    return list.check(mapped, isIPv6(mapped) ? "ipv6" : "ipv4");
  };
}

/** Drops X-Forwarded-* and friends unless the peer is a trusted proxy, then lets Koa read them. */
export function trustProxy(entries: readonly string[]): Middleware {
  const trusted = proxyMatcher(entries);
  return async (ctx, next) => {
    if (!trusted(ctx.req.socket.remoteAddress)) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- headers is a plain dictionary
      for (const header of PROXY_HEADERS) delete ctx.req.headers[header];
    }
    await next();
  };
}

const loopback = proxyMatcher(["127.0.0.0/8", "::1"]);

/**
 * Whether a request comes straight from this machine or from the proxies' network, asking for
 * itself: an orchestrator's probe or an operator's curl. Only such callers may see internal
 * detail (dependency errors, the instance's host name). A request the proxy relays carries
 * X-Forwarded-For (trustProxy has already dropped it from anyone else), and counts as outside
 * whatever its client's address: nginx's own loopback clients included.
 */
export function directCaller(trustedProxies: readonly string[]) {
  const trusted = proxyMatcher(trustedProxies);
  return (peer: string | undefined, forwardedFor: string | undefined): boolean =>
    !forwardedFor && (loopback(peer) || trusted(peer));
}
