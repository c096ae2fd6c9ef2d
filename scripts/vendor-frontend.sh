#!/usr/bin/env bash
# Copy the front-end libraries from npm into frontend/static/frontend/vendor/ (committed),
# so running the app needs no npm. Run after changing frontend/package.json.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
npm ci --no-audit --no-fund
vendor=static/frontend/vendor
rm -rf "$vendor"
mkdir -p "$vendor/openseadragon" "$vendor/annotorious" "$vendor/chartjs"
cp node_modules/openseadragon/build/openseadragon/openseadragon.min.js "$vendor/openseadragon/"
cp -r node_modules/openseadragon/build/openseadragon/images "$vendor/openseadragon/"
cp node_modules/openseadragon/LICENSE.txt "$vendor/openseadragon/" 2>/dev/null || true
cp node_modules/@annotorious/openseadragon/dist/annotorious-openseadragon.js "$vendor/annotorious/"
cp node_modules/@annotorious/openseadragon/dist/annotorious-openseadragon.css "$vendor/annotorious/"
cp node_modules/chart.js/dist/chart.umd.min.js "$vendor/chartjs/"
cp node_modules/chart.js/LICENSE.md "$vendor/chartjs/" 2>/dev/null || true
for pkg in openseadragon @annotorious/openseadragon chart.js; do
  node -e "const p=require('./node_modules/$pkg/package.json');console.log(p.name+'@'+p.version+' '+(p.license||''))"
done > "$vendor/VERSIONS.txt"
echo "vendored into frontend/$vendor"
