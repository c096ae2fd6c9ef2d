#!/usr/bin/env bash
# Copy Mirador's UMD build from npm into tests/vendor/mirador/ (test-only: the Mirador browser test).
set -euo pipefail
VERSION="${1:-4.0.0}"
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "mirador@$VERSION" --silent >/dev/null && tar xzf "mirador-$VERSION.tgz")
cp "$work/package/dist/mirador.min.js" "$work/package/LICENSE" tests/vendor/mirador/
sha256sum tests/vendor/mirador/mirador.min.js
echo "vendored mirador@$VERSION into tests/vendor/mirador/ (update its README.md with the version and sha256)"
