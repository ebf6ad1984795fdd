#!/usr/bin/env bash
# Installs and starts what Lantern's tests need. Idempotent: safe to run on a machine where all of it is up.
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "services.sh: need root to install: ${need_apt[*]}" >&2
    exit 1
  fi
  echo "services.sh: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
echo "services.sh: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), chromedriver ready"
