#!/usr/bin/env bash
# One GPU-machine call for everything: the CUDA op tests, the conformance tests (stage by stage and end to end,
# fp32/fp16/bf16) and `i2vgen bench` (fp16, full-size released architecture with random weights).
#
#   tools/device/run-all.sh stage   (here) stages .device/conformance (see run-conformance.sh) and adds the
#                                    CUDA op test classes; carry ".device/conformance" with the device `run` tool.
#   tools/device/run-all.sh         (on the device) runs all three; logs and JSON under $OUT.
# BENCH_ARGS overrides the bench arguments, BENCH_JAVA_OPTS adds JVM options to it (e.g. -Di2vgen.cuda.profile=3);
# PARTS picks what runs (default "ops conformance bench"); OPS_JAVA_OPTS="-Di2vgen.cuda.bench=true" adds the kernel
# benchmarks (CudaBenchmarkTest) to the op tests.
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=.device/conformance
if [ "${1:-}" = stage ]; then
  set -e
  tools/device/run-conformance.sh stage
  ./mvnw -B -q -o -pl tornado-kernels test-compile
  mkdir -p "$STAGE/test-classes/dev/i2vgen/backend/cuda"
  cp tornado-kernels/target/test-classes/dev/i2vgen/backend/cuda/*.class "$STAGE/test-classes/dev/i2vgen/backend/cuda/"
  # the op cases the CUDA tests share with the JVM and OpenCL ones
  cp tornado-kernels/target/test-classes/dev/i2vgen/backend/{LinearCombinationCases,NonFiniteFlagCases,LinkedLoopCase}*.class "$STAGE/test-classes/dev/i2vgen/backend/"
  du -sh "$STAGE"
  exit 0
fi
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
rc=0
PARTS="${PARTS:-ops conformance bench}"
if [[ " $PARTS " == *" ops "* ]]; then
SELECT="--select-package dev.i2vgen.backend.cuda" JAVA_OPTS="${OPS_JAVA_OPTS:-}" OUT="$OUT/ops" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
tail -5 "$OUT/ops/conformance.log"; grep -E "launcher exit code|crash report" "$OUT/ops/summary.txt"
grep -E "^\[FAIL|✘" "$OUT/ops/conformance.log" | head -20
fi
if [[ " $PARTS " == *" conformance "* ]]; then
SELECT="--select-class dev.i2vgen.conformance.StageConformanceTest --select-class dev.i2vgen.conformance.PipelineConformanceTest --select-class dev.i2vgen.conformance.CommandLineConformanceTest --select-class dev.i2vgen.backend.ExecutionPlanBindingTest --select-class dev.i2vgen.backend.ExecutionPlanAsyncReadTest" \
  OUT="$OUT/conformance" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
grep -E "stages from|relative error per stage|^  [a-z_.0-9]+ +[0-9.e+-]+$|tests (successful|failed|skipped|aborted)" "$OUT/conformance/conformance.log" | head -150
grep -E "tests (successful|failed|aborted)|launcher exit code|crash report" "$OUT/conformance/summary.txt" "$OUT/conformance/conformance.log" | sort -u
grep -E "✘" "$OUT/conformance/conformance.log" | head -20
fi
if [[ " $PARTS " == *" bench "* ]]; then
JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
# shellcheck disable=SC2086
# signal chaining: GPU driver libraries replace the JVM's SIGSEGV handler (a silent SIGSEGV death without it; ./i2vgen)
LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -Xmx64g ${BENCH_JAVA_OPTS:-} \
  -cp "$STAGE/i2vgen.jar" dev.i2vgen.cli.I2VGenCommand bench ${BENCH_ARGS:---device cuda --dtype fp16} --json "$OUT/bench.json" \
  > "$OUT/bench.log" 2>&1 || rc=1
grep -v "^PROFILE" "$OUT/bench.log" | tail -30
grep "^PROFILE" "$OUT/bench.log" > "$OUT/profile.log" || true
fi
exit $rc
