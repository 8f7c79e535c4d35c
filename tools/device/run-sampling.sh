#!/usr/bin/env bash
# The samplers on the GPU machine in one call: the swapped-scheduler and I4VGen conformance cases on CUDA (fp32 stage
# by stage and frames within ±1; I4VGen also fp16/bf16), the DDIM pipeline cases again (its step goes through the same
# step graph), and `i2vgen bench` whole-video times per scheduler, step count and I4VGen.
#
#   tools/device/run-all.sh stage             (here) stages .device/conformance; carry it
#   tools/device/run-sampling.sh              (on the device) PARTS picks among "conformance i4vgen bench"
# BENCHES lists "model:scheduler-spec:steps[:i4vgen]" runs (scheduler "-" = the checkpoint's; a trailing ":i4vgen"
# adds --i4vgen); results in $OUT/results.tar.gz.
set -uo pipefail
cd "$(dirname "$0")/../.."
FINAL="${OUT:-$PWD/out}"
OUT=/tmp/schedulers-out   # everything goes back as one archive (the device returns at most 8 files)
rm -rf "$OUT" && mkdir -p "$OUT" "$FINAL"
STAGE=.device/conformance
PARTS="${PARTS:-conformance i4vgen bench}"
BENCHES="${BENCHES:-i2vgen-xl:-:50 i2vgen-xl:DPMSolverMultistepScheduler:25 i2vgen-xl:UniPCMultistepScheduler:20 svd-xt:-:25 svd-xt:EulerAncestralDiscreteScheduler:25}"
rc=0
if [[ " $PARTS " == *" conformance "* ]]; then
  SELECT="--select-class dev.i2vgen.conformance.SchedulerConformanceTest --select-method dev.i2vgen.conformance.PipelineConformanceTest#generateMatchesDiffusersOnCuda(java.lang.String) --select-method dev.i2vgen.conformance.PipelineConformanceTest#reducedPrecisionOnCudaStaysClose(java.lang.String,dev.i2vgen.tensor.DType)" \
    OUT="$OUT/conformance" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
  grep -E "relative error per stage|prev_sample|frames_float|decode.latents" "$OUT/conformance/conformance.log" | head -300 > "$OUT/conformance/stages.txt"
  grep -E "tests (successful|failed|aborted|skipped)|launcher exit code|crash report" "$OUT/conformance/conformance.log" | sort -u
  grep -E "✘" "$OUT/conformance/conformance.log" | head -20
fi
if [[ " $PARTS " == *" i4vgen "* ]]; then
  SELECT="--select-class dev.i2vgen.conformance.I4VGenConformanceTest" OUT="$OUT/i4vgen" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
  grep -E "relative error per stage|ni_vsds.result|regeneration.latents|prev_sample|frames_float" "$OUT/i4vgen/conformance.log" | head -200 > "$OUT/i4vgen/stages.txt"
  grep -E "tests (successful|failed|aborted|skipped)|launcher exit code|crash report" "$OUT/i4vgen/conformance.log" | sort -u
  grep -E "✘" "$OUT/i4vgen/conformance.log" | head -20
fi
JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
if [[ " $PARTS " == *" bench "* ]]; then
  for b in $BENCHES; do
    extra=(); [[ "$b" == *:i4vgen ]] && { extra=(--i4vgen); b=${b%:i4vgen}; }
    model=${b%%:*}; steps=${b##*:}; scheduler=${b#*:}; scheduler=${scheduler%:*}   # the spec may hold ':' itself
    name="bench-$model-${scheduler%%Scheduler*}-$steps${extra:+-i4vgen}"
    args=(--model "$model" --device cuda --dtype fp16 --warmup 1 --repeats 2 --pipeline-steps "$steps" "${extra[@]}")
    [ "$scheduler" != "-" ] && args+=(--scheduler "$scheduler")
    LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
      -Djava.awt.headless=true -Xmx64g -cp "$STAGE/i2vgen.jar" dev.i2vgen.cli.I2VGenCommand bench "${args[@]}" \
      --json "$OUT/$name.json" > "$OUT/$name.log" 2>&1 || rc=1
    echo "== $name"; grep -iE "pipeline|peak" "$OUT/$name.log" | grep -v "^PROFILE" | tail -4
  done
fi
tar -czf "$FINAL/results.tar.gz" -C "$OUT" .
exit $rc
