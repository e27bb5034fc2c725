#!/usr/bin/env bash
# Installs everything tsimg and its tests need on Debian 12, idempotently and quickly
# when already done: apt packages, npm dependencies, the compiled CLI, and the tinyos
# fixture ISO (built from Debian packages, cached outside git, linked as iso/tinyos.iso).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian packages: QEMU, qemu-img, the compressors the compress post-processor runs,
#    nginx-light (the WebDAV server the upload tests PUT to), OVMF (efi_boot), swtpm (vtpm),
#    Graphviz (npm run docs draws docs/architecture.svg), redis-server (the queue tests start their
#    own), python3-requests (pykickstart's ksvalidator in ../shared/tools), and what the fixture build needs.
packages=(qemu-system-x86 qemu-utils util-linux zstd xz-utils nginx-light chromium ovmf swtpm graphviz redis-server python3-requests $(grep -v '^\s*#' test/fixtures/tinyos/host-packages.txt))
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
# The fixture downloads guest packages with apt-get download, so the package lists must be current too.
if [ ${#missing[@]} -gt 0 ] || ! apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1; then
  log "apt-get update"
  as_root apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm dependencies and the compiled CLI.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "compiling"
npm run --silent build

# 3. The fixture ISO (a no-op when the cached one matches the fixture scripts).
fixture_dir=$(bash test/fixtures/tinyos/build.sh | tail -n 1)
mkdir -p iso
ln -sfn "$fixture_dir/tinyos.iso" iso/tinyos.iso
(cd "$fixture_dir" && sha256sum tinyos.iso) > iso/SHA256SUMS
log "ready: iso/tinyos.iso -> $fixture_dir/tinyos.iso"
