#!/usr/bin/env bash
# The end-to-end conformance tests (PipelineConformanceTest, CommandLineConformanceTest) on the GPU machine: their
# cuda variants run the whole pipeline against the diffusers reference cases (conformance/cases, tracked, so they
# travel with the tree): fp32 ≤ 1e-4 per stage and frames ±1, fp16/bf16 ≤ 1e-2 per stage.
#
#   tools/device/run-conformance.sh stage   (here) builds the shaded CLI jar and the conformance test classes and
#       fills .device/conformance/ (git-ignored): i2vgen.jar, test-classes/, the JUnit console launcher and a JRE
#       with java.desktop (images). Then carry ".device/conformance" with the device `run` tool.
#   tools/device/run-conformance.sh         (on the device) runs the tests; reports and the log go to $OUT (or ./out).
# Extra arguments go to the launcher; SELECT replaces the default selector.
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=.device/conformance

if [ "${1:-}" = stage ]; then
  set -e
  ./mvnw -B -q -o -pl examples,conformance -am package -DskipTests
  rm -rf "$STAGE" && mkdir -p "$STAGE"
  cp examples/target/i2vgen.jar "$STAGE/"
  # the bundled demo model's weights serve no conformance test: dropped to keep tree + carry under 64 MiB
  zip -q -d "$STAGE/i2vgen.jar" 'demo/checkpoint/*/*.safetensors' 'org/jline/nativ/*' 'net/sourceforge/jaad/*' >/dev/null
  ./mvnw -B -q -o -pl tornado-kernels test-compile
  cp -r conformance/target/test-classes "$STAGE/test-classes"
  # the device-residency test of the backends (bind / copy between runs) rides along
  mkdir -p "$STAGE/test-classes/dev/i2vgen/backend"
  cp tornado-kernels/target/test-classes/dev/i2vgen/backend/ExecutionPlanBindingTest.class tornado-kernels/target/test-classes/dev/i2vgen/backend/ExecutionPlanAsyncReadTest*.class "$STAGE/test-classes/dev/i2vgen/backend/"
  junit=$(ls .device/junit-platform-console-standalone.jar 2>/dev/null || find ~/.m2/repository/org/junit/platform/junit-platform-console-standalone -name '*.jar' | sort | tail -1)
  [ -n "$junit" ] || { echo "no junit-platform-console-standalone jar (put one in .device/ or the local Maven repository)" >&2; exit 1; }
  cp "$junit" "$STAGE/junit-platform-console-standalone.jar"
  tools/device/make-jre.sh "$STAGE/jre" >/dev/null
  du -sh "$STAGE"
  exit 0
fi

OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
[ -f "$STAGE/i2vgen.jar" ] || { echo "$STAGE is missing: run '$0 stage' here and carry $STAGE" >&2; exit 2; }
JRE=/tmp/conformance-jre
[ -x "$JRE/jre/bin/java" ] || { mkdir -p "$JRE" && tar -xJf "$STAGE/jre/jre.tar.xz" -C "$JRE"; }
JAVA="$JRE/jre/bin/java"
"$JAVA" -version 2>&1 | head -1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
# the tests find conformance/cases from the working directory upwards
# signal chaining: GPU driver libraries replace the JVM's SIGSEGV handler (a silent SIGSEGV death without it; ./i2vgen)
LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true ${JAVA_OPTS:-} \
  -jar "$STAGE/junit-platform-console-standalone.jar" execute \
  --class-path "$STAGE/i2vgen.jar:$STAGE/test-classes" \
  ${SELECT:---select-class dev.i2vgen.conformance.PipelineConformanceTest --select-class dev.i2vgen.conformance.CommandLineConformanceTest --select-class dev.i2vgen.backend.ExecutionPlanBindingTest} \
  --details=tree --disable-banner \
  --reports-dir "$OUT/reports" "$@" 2>&1 | tee "$OUT/conformance.log"
rc=${PIPESTATUS[0]}
grep -E "relative error|CUDA|tests (successful|failed|skipped)|^\s+[a-z_.0-9]+\s+[0-9.e+-]+$" "$OUT/conformance.log" > "$OUT/summary.txt" || true
# a launcher that dies (signal, crash) prints no summary: say so, and keep the JVM's crash report
echo "launcher exit code $rc" | tee -a "$OUT/summary.txt"
[ "$rc" -gt 128 ] && { echo "killed by signal $((rc - 128))"; free -g; dmesg 2>/dev/null | tail -5; } | tee -a "$OUT/summary.txt"
for f in hs_err_pid*.log; do [ -f "$f" ] && mv "$f" "$OUT/" && echo "JVM crash report: $f" | tee -a "$OUT/summary.txt"; done
exit $rc
