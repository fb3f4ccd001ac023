#!/bin/sh
# Renders nginx/templates/*.template into NGINX_CONF_DIR, filling in only the variables named
# below (nginx's own $variables pass through untouched), then checks the result with nginx -t.
# Runs unchanged in the Alpine nginx image (from /docker-entrypoint.d), in the native stack
# and in the tests, on nginx 1.28 (Alpine) and 1.22 (Debian 12).
#
# Optional settings:
#   NGINX_LISTEN=loopback       listen on 127.0.0.1 and ::1 only (native stack); default: all
#   NGINX_RESOLVER=127.0.0.11   re-resolve APP_UPSTREAMS host names while running (Docker)
#   AUTH_RATE=10r/m AUTH_BURST=10   rate limit for POSTs to the account endpoints
#   RATE_LIMIT_EXEMPT="127.0.0.1 ::1"   addresses or CIDR ranges the rate limit leaves alone
#   TLS_PLACEHOLDER_DIR=dir     if TLS_CERT does not exist yet (before the first certbot
#                               run), serve a self-signed placeholder made in dir instead
set -eu

here=$(cd "$(dirname "$0")" && pwd)
: "${NGINX_CONF_DIR:?set NGINX_CONF_DIR to the directory to write nginx.conf into}"
missing=""
for var in SERVER_NAME PUBLIC_URL HTTP_PORT HTTPS_PORT TLS_CERT TLS_KEY APP_UPSTREAMS STATIC_ROOT ACME_ROOT NGINX_RUN_DIR; do
  eval "value=\${$var:-}"
  [ -n "$value" ] || missing="$missing $var"
done
if [ -n "$missing" ]; then
  echo "nginx/render.sh: missing environment variables:$missing" >&2
  exit 64
fi
case "$PUBLIC_URL" in
  https://*) ;;
  *) echo "nginx/render.sh: PUBLIC_URL must start with https:// (got $PUBLIC_URL)" >&2; exit 64 ;;
esac

case "${NGINX_LISTEN:-all}" in
  loopback) LISTEN_V4="127.0.0.1:" LISTEN_V6="[::1]:" ;;
  all) LISTEN_V4="" LISTEN_V6="[::]:" ;;
  *) echo "nginx/render.sh: NGINX_LISTEN must be loopback or all (got $NGINX_LISTEN)" >&2; exit 64 ;;
esac

# `server name:port resolve` (re-resolving upstream names while running) exists in open-source
# nginx from 1.27.3. Older nginx (Debian 12 has 1.22) resolves the names once, at start.
supports_upstream_resolve() {
  version=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\).*|\1 \2 \3|p')
  [ -n "$version" ] || return 1
  set -- $version
  [ "$1" -gt 1 ] || [ "$2" -gt 27 ] || { [ "$2" -eq 27 ] && [ "$3" -ge 3 ]; }
}
RESOLVER_DIRECTIVE=""
resolve=""
if [ -n "${NGINX_RESOLVER:-}" ]; then
  RESOLVER_DIRECTIVE="resolver ${NGINX_RESOLVER} valid=10s ipv6=off;"
  if supports_upstream_resolve; then
    resolve=" resolve"
  else
    echo "nginx/render.sh: this nginx cannot re-resolve upstreams; $APP_UPSTREAMS is resolved once, at start" >&2
  fi
fi
UPSTREAM_SERVERS=""
for server in $APP_UPSTREAMS; do
  UPSTREAM_SERVERS="${UPSTREAM_SERVERS}server ${server}${resolve} max_fails=3 fail_timeout=5s; "
done

RATE_LIMIT_EXEMPT_ENTRIES=""
for address in ${RATE_LIMIT_EXEMPT:-}; do
  RATE_LIMIT_EXEMPT_ENTRIES="${RATE_LIMIT_EXEMPT_ENTRIES}${address} 1; "
done
AUTH_RATE=${AUTH_RATE:-10r/m}
AUTH_BURST=${AUTH_BURST:-10}
# Attachment uploads: a little above the app's limit (ATTACHMENT_MAX_MB, which the app also
# reads), so a file just over it reaches the app, which says so; larger bodies get nginx's 413.
ATTACHMENT_MAX_MB=${ATTACHMENT_MAX_MB:-25}
case "$ATTACHMENT_MAX_MB" in '' | *[!0-9]*) echo "nginx/render.sh: ATTACHMENT_MAX_MB must be a whole number" >&2; exit 1 ;; esac
ATTACHMENT_BODY_LIMIT="$((ATTACHMENT_MAX_MB + 1))m"

# Before the first certificate exists nginx must still start, to answer the ACME challenge
# that obtains it; a throwaway self-signed certificate stands in until then.
if [ ! -s "$TLS_CERT" ] && [ -n "${TLS_PLACEHOLDER_DIR:-}" ]; then
  echo "nginx/render.sh: $TLS_CERT does not exist yet; serving a self-signed placeholder until it does" >&2
  mkdir -p "$TLS_PLACEHOLDER_DIR"
  if [ ! -s "$TLS_PLACEHOLDER_DIR/placeholder.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
      -subj "/CN=$SERVER_NAME" -keyout "$TLS_PLACEHOLDER_DIR/placeholder.key" \
      -out "$TLS_PLACEHOLDER_DIR/placeholder.pem" 2>/dev/null
  fi
  TLS_CERT="$TLS_PLACEHOLDER_DIR/placeholder.pem"
  TLS_KEY="$TLS_PLACEHOLDER_DIR/placeholder.key"
fi

WSS_ORIGIN="wss://${PUBLIC_URL#https://}"
export UPSTREAM_SERVERS WSS_ORIGIN LISTEN_V4 LISTEN_V6 RESOLVER_DIRECTIVE RATE_LIMIT_EXEMPT_ENTRIES AUTH_RATE AUTH_BURST TLS_CERT TLS_KEY ATTACHMENT_BODY_LIMIT

mkdir -p "$NGINX_CONF_DIR" "$NGINX_RUN_DIR" "$ACME_ROOT"
vars='${MAIL_INBOX_UPSTREAM} ${MAIL_INBOX_PORT} ${SERVER_NAME} ${PUBLIC_URL} ${HTTP_PORT} ${HTTPS_PORT} ${TLS_CERT} ${TLS_KEY} ${UPSTREAM_SERVERS} ${STATIC_ROOT} ${ACME_ROOT} ${NGINX_RUN_DIR} ${NGINX_CONF_DIR} ${WSS_ORIGIN} ${TLS_CURVES} ${LISTEN_V4} ${LISTEN_V6} ${RESOLVER_DIRECTIVE} ${RATE_LIMIT_EXEMPT_ENTRIES} ${AUTH_RATE} ${AUTH_BURST} ${ATTACHMENT_BODY_LIMIT}'

render() {
  TLS_CURVES=$1
  export TLS_CURVES
  for template in "$here"/templates/*.template; do
    name=$(basename "$template" .template)
    envsubst "$vars" < "$template" > "$NGINX_CONF_DIR/$name"
  done
  rm -rf "$NGINX_CONF_DIR/duet.d"
  mkdir -p "$NGINX_CONF_DIR/duet.d"
  if [ -n "${MAIL_INBOX_UPSTREAM:-}" ]; then
    : "${MAIL_INBOX_PORT:?set MAIL_INBOX_PORT with MAIL_INBOX_UPSTREAM}"
    envsubst "$vars" < "$here/optional/mail-inbox.conf.template" > "$NGINX_CONF_DIR/duet.d/mail-inbox.conf"
  fi
}

# X25519MLKEM768 (post-quantum hybrid) needs OpenSSL 3.5+; offer it only where nginx accepts it.
render "X25519MLKEM768:X25519:prime256v1:secp384r1"
if ! nginx -t -q -c "$NGINX_CONF_DIR/nginx.conf" 2>/dev/null; then
  render "X25519:prime256v1:secp384r1"
  nginx -t -q -c "$NGINX_CONF_DIR/nginx.conf"
fi
