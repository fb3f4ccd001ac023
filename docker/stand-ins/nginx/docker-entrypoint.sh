#!/bin/sh
# As the upstream nginx image's entrypoint: before nginx starts, run each executable
# /docker-entrypoint.d/*.sh (and source *.envsh), in order.
set -e
if [ "$1" = nginx ]; then
  for script in /docker-entrypoint.d/*; do
    [ -f "$script" ] || continue
    case "$script" in
      *.envsh) [ -x "$script" ] && . "$script" ;;
      *.sh) if [ -x "$script" ]; then echo "$0: running $script"; "$script"; else echo "$0: ignoring $script, not executable"; fi ;;
    esac
  done
fi
exec "$@"
