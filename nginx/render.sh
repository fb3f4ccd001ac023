#!/bin/sh
# Renders nginx/templates/*.template into NGINX_CONF_DIR, filling in only the variables named
# below (nginx's own $variables pass through untouched), then checks the result with nginx -t.
# Runs unchanged in the Alpine nginx image (from /docker-entrypoint.d) and the native stack.
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

UPSTREAM_SERVERS=""
for server in $APP_UPSTREAMS; do
  UPSTREAM_SERVERS="${UPSTREAM_SERVERS}server $server max_fails=3 fail_timeout=5s; "
done
WSS_ORIGIN="wss://${PUBLIC_URL#https://}"
export UPSTREAM_SERVERS WSS_ORIGIN

mkdir -p "$NGINX_CONF_DIR" "$NGINX_RUN_DIR" "$ACME_ROOT"
vars='${MAIL_INBOX_UPSTREAM} ${MAIL_INBOX_PORT} ${SERVER_NAME} ${PUBLIC_URL} ${HTTP_PORT} ${HTTPS_PORT} ${TLS_CERT} ${TLS_KEY} ${UPSTREAM_SERVERS} ${STATIC_ROOT} ${ACME_ROOT} ${NGINX_RUN_DIR} ${NGINX_CONF_DIR} ${WSS_ORIGIN} ${TLS_CURVES}'

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
