#!/usr/bin/env bash
# Installs the Debian 12 packages Petrel needs, only those missing. Usage:
#   scripts/deps.sh build   # compiler, CMake, libraries, node + npm; `npm ci` for the admin pages
#   scripts/deps.sh test    # build + test peers (mosquitto, rabbitmq-server, paho, pytest, chromium for the pages,
#                           # clang and libFuzzer for the fuzz targets)
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
         chromium chromium-driver python3-selenium  # the admin pages in a real browser
         rabbitmq-server  # a real three-node cluster for the edge bridges (test_cluster_rabbit.py)
         clang libclang-rt-14-dev)  # the fuzz targets (tests/fuzz): clang++ and libFuzzer
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
# Debian's mosquitto and rabbitmq-server packages start a system broker when installed
# (mosquitto on port 1883; RabbitMQ on 5672/1883 with an epmd on 4369); the tests only
# need their programs and start their own servers on ports they pick, so keep the
# packages' services from starting (policy-rc.d), and leave them disabled.
services=()
for p in "${missing[@]}"; do
  case $p in mosquitto|rabbitmq-server) services+=("$p") ;; esac
done
policy_created=0
if [ ${#services[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  policy_created=1
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ $policy_created = 1 ] && rm -f /usr/sbin/policy-rc.d
for s in "${services[@]}"; do
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$s" >/dev/null 2>&1 || true
  fi
done
# Erlang's epmd is socket-activated under systemd (epmd.socket) and may have been started
# by a package script: stop the system one, the cluster tests run a private epmd.
if [[ " ${services[*]} " = *" rabbitmq-server "* ]]; then
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now epmd.socket epmd.service >/dev/null 2>&1 || true
  fi
  for pid in $(pgrep -x epmd || true); do
    [ "$(stat -c %u /proc/"$pid" 2>/dev/null)" = "$(id -u rabbitmq 2>/dev/null || echo none)" ] && kill "$pid" || true
  done
fi
npm_ci
