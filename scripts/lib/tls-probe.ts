/** What a TLS client sees: the certificate a server presents, checked against a given CA. */
import { connect, type PeerCertificate } from "node:tls";

/**
 * Connects to 127.0.0.1:`port` asking for `servername` and resolves with the certificate
 * served, if it verifies against `ca` for that name; rejects otherwise.
 */
export function servedCertificate(port: number, servername: string, ca: string | Buffer): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, servername, ca, timeout: 3000 }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on("timeout", () => socket.destroy(new Error(`no TLS handshake on port ${port}`)));
    socket.on("error", reject);
  });
}
