#!/usr/bin/env bash
# Installs the Debian packages dxhub needs that are missing. As root it runs apt-get; otherwise
# it prints the one apt-get line to run and fails. Used by every Makefile target.
set -euo pipefail

packages=(cmake make g++ pkg-config openssl curl ca-certificates python3 python3-jwcrypto python3-aiosmtpd sqlite3
          e2fsprogs mount clang libclang-rt-14-dev
          libpoco-dev rapidjson-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
          postgresql libpq-dev)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "dxhub needs packages that are missing; run as root:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
