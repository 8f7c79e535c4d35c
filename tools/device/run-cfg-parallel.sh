#!/usr/bin/env bash
# CFG-parallel (issue 18: one video on two GPUs, a half of the guidance batch on each) on the GPU machine, one call:
#   links        the exchange between devices (CudaPlanLinkTest: one stream, two streams of a context, two contexts of
#                one GPU (peer copy, also converting), pinned host staging, and GPUs 0 and 1 when there are two; each
#                route under load, every run submitted) and PlanLinkTest (CUDA ↔ JVM through the host)
#   conformance  CfgParallelConformanceTest: the tiny I2VGen-XL and SVD cases on two devices against diffusers and
#                against the one-device run on GPU 0 (fp32 ≤ 1e-5, fp16 within the reduced-precision bound): two
#                backends of GPU 0's primary context, GPU 0 with a context of its own, GPUs 0 and 1 where present
#   bench        with two GPUs: `i2vgen bench --devices 0,1` (fp16, released architectures, BENCH_MODELS) = every stage
#                on GPU 0, then the whole video on both against GPU 0 alone (goal: denoising loop ≥ 1.85×); with one
#                GPU: `--devices 0,0 --pipeline-steps 10` (both halves on GPU 0: the exchange at full size, no speed-up)
#
#   tools/device/run-cfg-parallel.sh stage   (here) stages .device/conformance (run-all.sh stage) plus the link tests'
#                                            shared classes; carry ".device/conformance" with the device `run` tool
#   tools/device/run-cfg-parallel.sh         (on the device) PARTS picks among "links conformance bench" (default all;
#                                            split them over calls if one call's 10 minutes are not enough)
# BENCH_MODELS (default "i2vgen-xl svd-xt"), BENCH_ARGS (extra bench arguments). Results: $OUT/results.tar.gz (logs,
# JUnit reports, bench JSON) and a summary on stdout.
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=.device/conformance
if [ "${1:-}" = stage ]; then
  set -e
  tools/device/run-all.sh stage
  # CudaPlanLinkTest's loop case and the backend-pair test live one package up
  cp tornado-kernels/target/test-classes/dev/i2vgen/backend/{LinkedLoopCase,PlanLinkTest}*.class "$STAGE/test-classes/dev/i2vgen/backend/"
  du -sh "$STAGE"
  exit 0
fi
FINAL="${OUT:-$PWD/out}"
OUT=/tmp/cfg-parallel-out   # everything goes back as one archive
rm -rf "$OUT" && mkdir -p "$OUT" "$FINAL"
[ -f "$STAGE/i2vgen.jar" ] || { echo "$STAGE is missing: run '$0 stage' here and carry $STAGE" >&2; exit 2; }
PARTS="${PARTS:-links conformance bench}"
GPUS=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
echo "GPUs: ${GPUS:-0}"; nvidia-smi topo -m 2>/dev/null | head -6 || true
rc=0
if [[ " $PARTS " == *" links "* ]]; then
  SELECT="--select-class dev.i2vgen.backend.cuda.CudaPlanLinkTest --select-class dev.i2vgen.backend.PlanLinkTest" \
    OUT="$OUT/links" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
  echo "== links"
  grep -E "CUDA devices 0 and 1|tests (successful|failed|aborted|skipped)|launcher exit code|crash report" "$OUT/links/conformance.log" | sort -u
  grep -E "✘|skipped:" "$OUT/links/conformance.log" | head -20
fi
if [[ " $PARTS " == *" conformance "* ]]; then
  SELECT="--select-class dev.i2vgen.conformance.CfgParallelConformanceTest" \
    OUT="$OUT/conformance" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
  echo "== conformance (two devices vs diffusers and vs one device)"
  grep -E "two devices vs one" "$OUT/conformance/conformance.log"
  grep -E "tests (successful|failed|aborted|skipped)|launcher exit code|crash report" "$OUT/conformance/conformance.log" | sort -u
  grep -E "✘|skipped:" "$OUT/conformance/conformance.log" | head -20
fi
if [[ " $PARTS " == *" bench "* ]]; then
  JAVA=/tmp/conformance-jre/jre/bin/java
  [ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
  export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
  if [ "${GPUS:-0}" -ge 2 ]; then devices=(--devices 0,1); else devices=(--devices 0,0 --pipeline-steps 10); fi
  for model in ${BENCH_MODELS:-i2vgen-xl svd-xt}; do
    name="bench-$model-devices-${devices[1]/,/-}"
    # shellcheck disable=SC2086
    LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
      -Djava.awt.headless=true -Xmx64g -cp "$STAGE/i2vgen.jar" dev.i2vgen.cli.I2VGenCommand bench --model "$model" \
      --device cuda --dtype fp16 --warmup 1 --repeats 3 "${devices[@]}" ${BENCH_ARGS:-} --json "$OUT/$name.json" \
      > "$OUT/$name.log" 2>&1 || rc=1
    echo "== $name"
    grep -E "^bench on|unet_step_cfg |unet_step_half|^pipeline_" "$OUT/$name.log" | tail -6
    sed -n '/^CFG-parallel on/,$p' "$OUT/$name.log"
    grep -iE "^error|exception" "$OUT/$name.log" | head -5
  done
fi
tar -czf "$FINAL/results.tar.gz" -C "$OUT" .
exit $rc
