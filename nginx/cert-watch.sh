#!/bin/sh
# Reloads nginx (nginx/reload.sh) whenever the certificate file TLS_CERT changes, checking
# every NGINX_CERT_CHECK_SECONDS (default 300). certbot renews into a shared volume from its
# own container and cannot signal nginx; this loop notices the new file instead. Reloading
# only on a change keeps the workers (and their WebSockets) alone the rest of the time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
interval=${NGINX_CERT_CHECK_SECONDS:-300}
fingerprint() { cat "$TLS_CERT" 2>/dev/null | cksum; }
last=$(fingerprint)
echo "cert-watch: reloading nginx when $TLS_CERT changes (checked every ${interval}s)"
while sleep "$interval"; do
  now=$(fingerprint)
  [ "$now" = "$last" ] && continue
  if sh "$here/reload.sh"; then
    echo "cert-watch: $TLS_CERT changed; nginx reloaded"
    last=$now
  else
    echo "cert-watch: $TLS_CERT changed but the reload failed; retrying in ${interval}s" >&2
  fi
done
