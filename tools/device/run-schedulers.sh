#!/usr/bin/env bash
# The schedulers on the GPU machine in one call: the swapped-scheduler conformance cases on CUDA fp32 (I2VGen-XL and
# SVD, stage by stage and frames within ±1), the DDIM pipeline cases again (its step now goes through the same step
# graph), the scheduler step graphs in fp16, and `i2vgen bench` whole-video times per scheduler and step count.
#
#   tools/device/run-all.sh stage             (here) stages .device/conformance; carry it
#   tools/device/run-schedulers.sh            (on the device) PARTS picks among "conformance bench"
# BENCHES lists "model:scheduler-spec:steps" runs (scheduler "-" = the checkpoint's); results in $OUT/results.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/../.."
FINAL="${OUT:-$PWD/out}"
OUT=/tmp/schedulers-out   # everything goes back as one archive (the device returns at most 8 files)
rm -rf "$OUT" && mkdir -p "$OUT" "$FINAL"
STAGE=.device/conformance
PARTS="${PARTS:-conformance bench}"
BENCHES="${BENCHES:-i2vgen-xl:-:50 i2vgen-xl:DPMSolverMultistepScheduler:25 i2vgen-xl:UniPCMultistepScheduler:20 svd-xt:-:25 svd-xt:EulerAncestralDiscreteScheduler:25}"
rc=0
if [[ " $PARTS " == *" conformance "* ]]; then
  SELECT="--select-class dev.i2vgen.conformance.SchedulerConformanceTest --select-method dev.i2vgen.conformance.PipelineConformanceTest#generateMatchesDiffusersOnCuda(java.lang.String) --select-method dev.i2vgen.conformance.PipelineConformanceTest#reducedPrecisionOnCudaStaysClose(java.lang.String,dev.i2vgen.tensor.DType)" \
    OUT="$OUT/conformance" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
  grep -E "relative error per stage|prev_sample|frames_float|decode.latents" "$OUT/conformance/conformance.log" | head -300 > "$OUT/conformance/stages.txt"
  grep -E "tests (successful|failed|aborted|skipped)|launcher exit code|crash report" "$OUT/conformance/conformance.log" | sort -u
  grep -E "✘" "$OUT/conformance/conformance.log" | head -20
fi
JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
if [[ " $PARTS " == *" bench "* ]]; then
  for b in $BENCHES; do
    model=${b%%:*}; steps=${b##*:}; scheduler=${b#*:}; scheduler=${scheduler%:*}   # the spec may hold ':' itself
    name="bench-$model-${scheduler%%Scheduler*}-$steps"
    args=(--model "$model" --device cuda --dtype fp16 --warmup 1 --repeats 2 --pipeline-steps "$steps")
    [ "$scheduler" != "-" ] && args+=(--scheduler "$scheduler")
    LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
      -Djava.awt.headless=true -Xmx64g -cp "$STAGE/i2vgen.jar" dev.i2vgen.cli.I2VGenCommand bench "${args[@]}" \
      --json "$OUT/$name.json" > "$OUT/$name.log" 2>&1 || rc=1
    echo "== $name"; grep -iE "pipeline|peak" "$OUT/$name.log" | grep -v "^PROFILE" | tail -4
  done
fi
tar -czf "$FINAL/results.tar.gz" -C "$OUT" .
exit $rc
