#!/usr/bin/env bash
# Vendors uPlot (https://github.com/leeoniya/uPlot, MIT) into the dashboards'
# embedded assets: the pages load it from /static/vendor/uplot/, never from a
# CDN. Run by `make vendor-uplot`; the files it writes are committed, so a
# build needs neither npm nor the network.
#
# To upgrade: change UPLOT_VERSION and UPLOT_INTEGRITY (npm view uplot@X dist.integrity),
# run make vendor-uplot, check the dashboards' browser tests, commit.
set -euo pipefail

UPLOT_VERSION=${UPLOT_VERSION:-1.6.32}
UPLOT_INTEGRITY=${UPLOT_INTEGRITY:-sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==}

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/dashboards/static/vendor/uplot"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
tgz=$(npm pack --silent "uplot@$UPLOT_VERSION")
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$UPLOT_INTEGRITY" ]; then
	echo "uplot@$UPLOT_VERSION: integrity $got does not match the pinned $UPLOT_INTEGRITY" >&2
	exit 1
fi
tar -xzf "$tgz"
mkdir -p "$dest"
cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE "$dest/"
{
	echo "uPlot $UPLOT_VERSION from the npm registry (package uplot), $UPLOT_INTEGRITY"
	echo "files: dist/uPlot.iife.min.js dist/uPlot.min.css LICENSE (MIT), unchanged"
	echo "vendored by scripts/vendor-uplot.sh (make vendor-uplot)"
} >"$dest/VERSION"
echo "vendored uplot@$UPLOT_VERSION into $dest"
