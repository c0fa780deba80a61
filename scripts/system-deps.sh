#!/usr/bin/env bash
# Install the servers the tests run for real (redis, MariaDB, nginx), the browser of tests/e2e (Debian's
# chromium, with a font to render text and certutil to make it trust the local CA; Playwright drives it and
# never downloads its own) and the load generator of benchmarks/web_path.py (wrk) when they are missing.
# `system-deps.sh local` installs only what `eb_tools local` runs (`make up`): the local stage's database,
# Redis and nginx.
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
{ command -v mariadbd || test -x /usr/sbin/mariadbd; } >/dev/null || missing+=(mariadb-server)
{ command -v nginx || test -x /usr/sbin/nginx; } >/dev/null || missing+=(nginx)
if [ "${1:-}" != local ]; then
  test -x /usr/bin/chromium || missing+=(chromium)
  test -d /usr/share/fonts/truetype/dejavu || missing+=(fonts-dejavu-core)
  command -v certutil >/dev/null || missing+=(libnss3-tools)  # the HTTPS test's browser trusts the local CA
  command -v wrk >/dev/null || missing+=(wrk)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${missing[*]}; install them (sudo apt-get install ${missing[*]}) and rerun" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d 101 keeps the packages from starting system-wide services: tests start their own.
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -n "$created" ] && rm -f "$policy"
exit 0
