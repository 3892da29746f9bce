#!/usr/bin/env bash
# System tools the tests need: Debian's Chromium for the browser tests (never a browser
# downloaded by Playwright), GNU gettext for the translation check (makemessages) and nginx for
# the proxy routing test (it runs deploy/nginx.conf).
# Install what is missing when we may (root with apt-get); otherwise say what to do.
set -euo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v xgettext >/dev/null 2>&1 && command -v msgfmt >/dev/null 2>&1 || missing+=(gettext)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ "${#missing[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} for the tests..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi
echo "The tests need ${missing[*]}: run 'sudo apt-get install ${missing[*]}'" \
    "(or set CHROMIUM_PATH to another Chromium binary)." >&2
exit 1
