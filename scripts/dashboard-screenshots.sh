#!/usr/bin/env bash
# Screenshots of the dashboard for docs/serve.md, taken from a real run: the serve e2e test
# builds tinyos under QEMU from an MR comment (then a second version of it) while Debian's
# chromium watches, and with TSIMG_DASHBOARD_SHOTS set it keeps the build page (laptop and
# phone widths), the images page and tinyos's history page as PNGs in docs/img/.
# Needs what the e2e tests need (bash scripts/setup.sh); takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/docs/img"
mkdir -p "$out"
TSIMG_DASHBOARD_SHOTS="$out" flock /tmp/tsimg-qemu.lock npx vitest run test/e2e/serve.test.ts
ls -l "$out"/build-page.png "$out"/build-page-phone.png "$out"/images-page.png "$out"/image-history.png
