#!/usr/bin/env bash
# Installs every Debian package the project needs. Idempotent; quiet when done.
set -euo pipefail
PKGS=(
  build-essential pkg-config clang clang-tidy cppcheck valgrind
  libcurl4-openssl-dev libcjson-dev libyaml-dev libwebsockets-dev libcmocka-dev
  libclang-rt-14-dev
  python3 python3-pytest python3-yaml python3-prometheus-client
  etcd-server etcd-client golang-go rsync jq golang-github-modern-go-reflect2-dev
  openssl curl ca-certificates unzip lua5.1 procps iproute2 kubernetes-client
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# kubectl may be on the machine already (not from Debian): don't install kubernetes-client then.
if command -v kubectl >/dev/null 2>&1; then
  m2=(); for p in "${missing[@]}"; do [ "$p" = kubernetes-client ] || m2+=("$p"); done; missing=("${m2[@]+"${m2[@]}"}")
fi
# npm: the machine's Node.js may ship its own npm (Debian's npm would conflict with it).
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
