#!/usr/bin/env bash
# Installs the Debian 12 packages Petrel needs, only those missing. Usage:
#   scripts/deps.sh build   # compiler, CMake, libraries, node + npm; `npm ci` for the admin pages
#   scripts/deps.sh test    # build + test peers (mosquitto, paho, pytest, chromium for the pages)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-build}
pkgs=(g++ cmake ninja-build pkg-config libboost1.81-dev libboost-json1.81-dev libfmt-dev libssl-dev openssl libargon2-dev
      zlib1g-dev libsqlite3-dev libsystemd-dev)
# The admin pages' libraries (web/ui/package-lock.json) are installed with npm; a machine
# that already has node and npm (for instance a newer Node.js than Debian's) keeps its own.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ "$what" = test ]; then
  pkgs+=(googletest libgtest-dev libgmock-dev libbenchmark-dev mosquitto mosquitto-clients
         groff-base man-db python3 python3-pytest python3-pytest-xdist python3-paho-mqtt python3-prometheus-client procps
         softhsm2 libengine-pkcs11-openssl  # a PKCS#11 token for the --tls-engine tests
         chromium chromium-driver python3-selenium)  # the admin pages in a real browser
fi
# The admin pages' libraries, when node_modules is missing or older than the lockfile.
npm_ci() {
  local ui=web/ui
  if [ ! -f $ui/node_modules/.package-lock.json ] || [ $ui/package-lock.json -nt $ui/node_modules/.package-lock.json ]; then
    echo "petrel: npm ci in $ui" >&2
    (cd $ui && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  npm_ci
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "petrel: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
  exit 1
fi
echo "petrel: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's mosquitto package starts a system broker on port 1883 when installed; the tests
# only need its binary, so keep the package's service from starting (policy-rc.d), and
# leave it disabled.
installing_mosquitto=0
for p in "${missing[@]}"; do [ "$p" = mosquitto ] && installing_mosquitto=1; done
policy_created=0
if [ $installing_mosquitto = 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ $policy_created = 1 ] && rm -f /usr/sbin/policy-rc.d
if [ $installing_mosquitto = 1 ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
npm_ci
