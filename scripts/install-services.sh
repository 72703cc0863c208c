#!/usr/bin/env bash
# Debian packages the integration tests start for real: redis-server, rabbitmq-server,
# espeak-ng (speech for the voice-model tests), and chromium + chromium-driver (the dashboard's
# browser tests). Installs only what is missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)

if [ ${#need[@]} -eq 0 ]; then
    echo "[services] redis-server, rabbitmq-server, espeak-ng, chromium and chromium-driver are installed"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "[services] missing ${need[*]} and not root: install them with your package manager" >&2
        exit 1
    fi
fi
echo "[services] installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The Debian packages may start system-wide daemons; the tests run their own on free ports.
for svc in redis-server rabbitmq-server; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "[services] installed ${need[*]}"
