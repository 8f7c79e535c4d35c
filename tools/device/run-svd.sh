#!/usr/bin/env bash
# Stable Video Diffusion on the GPU machine in one call: the SVD reference cases made by diffusers there (CPU), the
# CUDA op test of the scheduler update, the SVD conformance tests (stage by stage, end to end, `i2vgen generate`) on
# CUDA fp32/fp16/bf16 and the JVM and OpenCL backends, `i2vgen bench --model svd-xt`, and diffusers' own SVD-XT
# figures on the same GPU (tools/device/anchor_diffusers_svd.py).
#
#   tools/device/run-all.sh stage         (here) stages .device/conformance; carry it and .device-py (diffusers'
#                                          source as diffusers-src.tar.gz: git archive of its src/diffusers, gzipped)
#   tools/device/run-svd.sh                (on the device) PARTS picks among "cases ops conformance bench anchor"
# Results under $OUT: conformance logs, bench-svd.json/log, anchor_svd.json, regenerated cases as tar.gz.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
STAGE=.device/conformance
PARTS="${PARTS:-cases ops conformance bench anchor}"
CASES="${CASES:-}"
rc=0
if [[ " $PARTS " == *" cases "* || " $PARTS " == *" anchor "* ]]; then
  mkdir -p /tmp/py && tar -xzf .device-py/diffusers-src.tar.gz -C /tmp/py && export PYTHONPATH=/tmp/py/src
fi
if [[ " $PARTS " == *" cases "* && -n "$CASES" ]]; then
  rm -rf /tmp/cases && mkdir -p /tmp/cases && cp -r conformance/cases/svd-tiny-fp16 /tmp/cases/
  python3 conformance/tools/make_svd_reference_cases.py /tmp/cases $CASES > "$OUT/cases.log" 2>&1 || rc=1
  for c in $CASES; do rm -rf "conformance/cases/$c" && cp -r "/tmp/cases/$c" conformance/cases/ && tar -czf "$OUT/$c.tar.gz" -C /tmp/cases "$c"; done
  tail -2 "$OUT/cases.log"
fi
if [[ " $PARTS " == *" ops "* ]]; then
  SELECT="--select-class dev.i2vgen.backend.cuda.CudaLinearCombinationTest --select-method dev.i2vgen.backend.cuda.CudaOpsTest#binaryTileBroadcast(dev.i2vgen.tensor.DType)" OUT="$OUT/ops" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
  grep -E "tests (successful|failed|skipped)|launcher exit code" "$OUT/ops/conformance.log" | sort -u
fi
if [[ " $PARTS " == *" conformance "* ]]; then
  SELECT="--select-class dev.i2vgen.conformance.SvdStageConformanceTest --select-class dev.i2vgen.conformance.SvdPipelineConformanceTest --select-method dev.i2vgen.conformance.CommandLineConformanceTest#generateReproducesTheSvdReferenceFrames(java.lang.String,java.nio.file.Path)" \
    OUT="$OUT/conformance" tools/device/run-conformance.sh > /dev/null 2>&1 || rc=1
  grep -E "stages from|relative error per stage|^  [a-z_.0-9]+ +[0-9.e+-]+$" "$OUT/conformance/conformance.log" | head -120 > "$OUT/conformance/stages.txt"
  grep -E "tests (successful|failed|aborted|skipped)|launcher exit code|crash report" "$OUT/conformance/conformance.log" | sort -u
  grep -E "✘" "$OUT/conformance/conformance.log" | head -20
fi
JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
if [[ " $PARTS " == *" bench "* ]]; then
  # shellcheck disable=SC2086
  LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -Djava.awt.headless=true -Xmx64g ${BENCH_JAVA_OPTS:-} -cp "$STAGE/i2vgen.jar" dev.i2vgen.cli.I2VGenCommand bench --model svd-xt \
    ${BENCH_ARGS:---device cuda --dtype fp16} --json "$OUT/bench-svd.json" > "$OUT/bench-svd.log" 2>&1 || rc=1
  grep -v "^PROFILE" "$OUT/bench-svd.log" | tail -16
fi
if [[ " $PARTS " == *" anchor "* ]]; then
  OUT="$OUT" python3 tools/device/anchor_diffusers_svd.py > "$OUT/anchor.log" 2>&1 || rc=1
  tail -1 "$OUT/anchor.log"
fi
exit $rc
