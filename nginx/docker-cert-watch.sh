#!/bin/sh
# Run by the nginx image's /docker-entrypoint.sh before nginx starts: when
# NGINX_CERT_CHECK_SECONDS is set (docker-compose.prod.yml), watch the certificate in the
# background and reload nginx after certbot renews it.
set -eu
[ -n "${NGINX_CERT_CHECK_SECONDS:-}" ] || exit 0
sh /etc/nginx/duet/cert-watch.sh &
