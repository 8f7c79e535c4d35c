#!/usr/bin/env bash
# Runs the CUDA backend tests on the GPU machine with the JUnit console launcher.
# Expects (carried, git-ignored): .device-jre/jre.tar.xz (from ../shared/tools/make-device-jre.sh .device-jre, relative to the repository, with the modules
#   java.base,java.logging,java.xml,java.management,jdk.incubator.vector,jdk.unsupported) and .device/ holding
# classes/ test-classes/ (tornado-kernels target folders) and junit-platform-console-standalone.jar.
# Writes reports and logs under $OUT (or ./out). Extra arguments go to the launcher; SELECT replaces the default
# selector (e.g. SELECT="--select-class dev.i2vgen.backend.cuda.CudaBenchmarkTest").
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
JAVA=/tmp/jre/bin/java
[ -x "$JAVA" ] || tar -xJf .device-jre/jre.tar.xz -C /tmp
"$JAVA" -version 2>&1 | head -1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
# signal chaining: GPU driver libraries replace the JVM's SIGSEGV handler (a silent SIGSEGV death without it; ./i2vgen)
LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${JAVA_OPTS:-} \
  -jar .device/junit-platform-console-standalone.jar execute \
  --class-path .device/classes:.device/test-classes \
  ${SELECT:---select-package dev.i2vgen.backend.cuda} \
  --details=tree --disable-banner \
  --reports-dir "$OUT/reports" "$@" 2>&1 | tee "$OUT/cuda-tests.log"
rc=${PIPESTATUS[0]}
grep -E "^(BENCH|CUDA device|device:)|rel.err" "$OUT/cuda-tests.log" > "$OUT/summary.txt" || true
exit $rc
