#!/usr/bin/env bash
# Issue 17's kernels on the GPU machine, one call: correctness first (each part in its own JVM, since a kernel that
# traps loses the CUDA context), then their benchmarks, then `i2vgen bench` A/B on one machine.
#   geglu     CudaGegluFusionTest: the fused feed-forward projection + GEGLU against the JVM and the unfused plan
#   v6        CudaOpsTest.flashAttentionSm90 for v5 (reference) and every v6 variant, and fusedProjectionsSm90
#   kbench    CudaBenchmarkTest: gegluFeedForwardProjection, flashAttentionSm90 (v5 against the v6 kernels)
#   ab        i2vgen bench (fp16, released architecture) as built, then with each switch of AB_CONFIGS
#
#   tools/device/run-all.sh stage        (here) stages .device/conformance; carry it
#   tools/device/run-round2.sh           (on the device) PARTS picks among "geglu v6 kbench ab"; results in
#                                        $OUT/results.tar.gz and a summary on stdout
# A part that would start after DEADLINE seconds (default 540) is skipped, so the call returns within its limit.
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=.device/conformance
FINAL="${OUT:-$PWD/out}"
OUT=/tmp/round2-out
rm -rf "$OUT" && mkdir -p "$OUT" "$FINAL"
START=$(date +%s)
DEADLINE="${DEADLINE:-540}"
PARTS="${PARTS:-geglu v6 kbench ab}"
JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
left() { echo $((DEADLINE - ($(date +%s) - START))); }
tests() {   # tests NAME LIMIT JAVA_OPTS SELECTORS...
  local name=$1 limit=$2 opts=$3; shift 3
  [ "$(left)" -gt 30 ] || { echo "== $name: skipped (deadline)"; return; }
  [ "$limit" -gt "$(left)" ] && limit=$(left)
  LD_PRELOAD="/tmp/conformance-jre/jre/lib/libjsig.so" timeout "$limit" "$JAVA" --add-modules jdk.incubator.vector \
    --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -Xmx48g $opts -jar "$STAGE/junit-platform-console-standalone.jar" execute \
    --class-path "$STAGE/i2vgen.jar:$STAGE/test-classes" "$@" --details=tree --disable-banner \
    --reports-dir "$OUT/reports-$name" > "$OUT/$name.log" 2>&1
  echo "== $name: exit $?"
  grep -E "tests (successful|failed|aborted)" "$OUT/$name.log"
  grep -E "✘|rel\.|relative" "$OUT/$name.log" | head -30
}
if [[ " $PARTS " == *" geglu "* ]]; then
  tests geglu 120 "" --select-class dev.i2vgen.backend.cuda.CudaGegluFusionTest
fi
if [[ " $PARTS " == *" v6 "* ]]; then
  tests v6 150 "" \
    --select-iteration "method:dev.i2vgen.backend.cuda.CudaOpsTest#flashAttentionSm90(java.lang.String,dev.i2vgen.tensor.DType)[0,14..23]" \
    --select-method "dev.i2vgen.backend.cuda.CudaOpsTest#fusedProjectionsSm90(dev.i2vgen.tensor.DType)"
fi
if [[ " $PARTS " == *" kbench "* ]]; then
  tests kbench-geglu 90 "-Di2vgen.cuda.bench=true" --select-method "dev.i2vgen.backend.cuda.CudaBenchmarkTest#gegluFeedForwardProjection()"
  grep -E "^BENCH|geglu|TFLOP" "$OUT/kbench-geglu.log" | head -30
  tests kbench-flash 120 "-Di2vgen.cuda.bench=true -Di2vgen.bench.flash90=${FLASH_VARIANTS:-v5,v6w2k128,v6w2k128np,v6w2k64,v6w3k64,v5} -Di2vgen.bench.flash90.dtypes=F16 -Di2vgen.bench.flash90.shapes=${FLASH_SHAPES:-32x14080x14080x5,32x3520x3520x10,32x14080x77x5}" \
    --select-method "dev.i2vgen.backend.cuda.CudaBenchmarkTest#flashAttentionSm90()"
  grep -E "^BENCH|ms" "$OUT/kbench-flash.log" | grep -v "^\[" | head -40
fi
if [[ " $PARTS " == *" ab "* ]]; then
  IFS=';' read -ra configs <<< "${AB_CONFIGS:-;-Di2vgen.cuda.gegluFusion=false;-Di2vgen.cuda.flashVariant=v6;-Di2vgen.cuda.gegluFusion=false -Di2vgen.cuda.flashVariant=v6}"
  n=0
  for props in "${configs[@]}"; do
    n=$((n + 1))
    [ "$(left)" -gt 75 ] || { echo "== ab $n ($props): skipped (deadline)"; continue; }
    # shellcheck disable=SC2086
    LD_PRELOAD="/tmp/conformance-jre/jre/lib/libjsig.so" timeout "$(left)" "$JAVA" --add-modules jdk.incubator.vector \
      --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -Xmx64g $props -cp "$STAGE/i2vgen.jar" dev.i2vgen.cli.I2VGenCommand \
      bench --device cuda --dtype fp16 ${AB_ARGS:---warmup 1 --repeats 3 --pipeline-steps 10} --json "$OUT/ab-$n.json" > "$OUT/ab-$n.log" 2>&1
    echo "== ab $n (${props:-as built}): exit $?"
    grep -E "^(unet_step_cfg|unet_step_cfg_peak_memory|vae_decode16_chunk1|pipeline_[0-9]+_steps) " "$OUT/ab-$n.log"
    grep -iE "^error|exception|warning.*unfused" "$OUT/ab-$n.log" | head -3
  done
fi
tar -czf "$FINAL/results.tar.gz" -C "$OUT" .
echo "elapsed $(( $(date +%s) - START )) s"
