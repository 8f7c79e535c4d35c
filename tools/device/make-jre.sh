#!/usr/bin/env bash
# A small JDK 25 runtime for the GPU machine (which has no Java), as OUT_DIR/jre.tar.xz: only the modules the pipeline
# and its tests need, no debug data, headless (no fonts, X11, splash or sound). The modules file is left uncompressed
# by jlink so that xz compresses it whole: 19 MB instead of 32 MB with jlink's own zip compression.
# Usage: tools/device/make-jre.sh OUT_DIR   (JDK25_HOME or /usr/lib/jvm/temurin-25-jdk-amd64)
set -euo pipefail
OUT=${1:?usage: make-jre.sh OUT_DIR}
JDK=${JDK25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
[ -x "$JDK/bin/jlink" ] || { echo "no JDK 25 jlink at $JDK (set JDK25_HOME)" >&2; exit 1; }
tmp=$(mktemp -d)
"$JDK/bin/jlink" --add-modules java.base,java.desktop,java.logging,jdk.incubator.vector,jdk.unsupported \
  --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$tmp/jre" 2>&1 | grep -v "incubator modules" || true
rm -f "$tmp"/jre/lib/lib{fontmanager,freetype,awt_xawt,splashscreen,jsound}.so
find "$tmp/jre/lib" -name '*.so' -exec strip --strip-unneeded {} + 2>/dev/null || true
mkdir -p "$OUT"
tar -C "$tmp" -cf - jre | xz -9 -T0 > "$OUT/jre.tar.xz"
rm -rf "$tmp"
ls -la "$OUT/jre.tar.xz"
