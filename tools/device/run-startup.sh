#!/usr/bin/env bash
# Process start to MP4 (issue 17), in one GPU-machine call: writes the released architectures with the benchmark's
# random fp16 weights as checkpoint folders (`i2vgen bench --write-checkpoint`), then times `i2vgen generate --model
# DIR --device cuda --dtype fp16` end to end, first with an empty kernel and algorithm cache, then with the warm ones, then
# warm kernels without the algorithm cache (-Di2vgen.cuda.algorithmCache=false), each with the I2VGEN_TIMINGS=1 breakdown. The checkpoint was just written, so its files are in the page cache in both runs.
#
#   tools/device/run-all.sh stage          (here) stages .device/conformance; carry it
#   tools/device/run-startup.sh            (on the device) MODELS picks among "i2vgen-xl svd-xt"; results in $OUT
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
STAGE=.device/conformance
JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
MODELS="${MODELS:-i2vgen-xl svd-xt}"
IMAGE=conformance/cases/tiny/input.png
java_cmd() {   # java_cmd PTX_CACHE [-Dkey=value...] ARGS...
  local ptx=$1; shift
  local props=(); while [[ "${1:-}" == -D* ]]; do props+=("$1"); shift; done
  LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector \
    --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -Xmx64g -Di2vgen.ptx.cache="$ptx" "${props[@]}" \
    -cp "$STAGE/i2vgen.jar" dev.i2vgen.cli.I2VGenCommand "$@"
}
rc=0
for m in $MODELS; do
  ck=/tmp/checkpoint-$m
  if [ ! -d "$ck" ]; then
    s=$(date +%s.%N)
    java_cmd /tmp/ptx-unused bench --model "$m" --write-checkpoint "$ck" > "$OUT/write-$m.log" 2>&1 || rc=1
    echo "== $m: checkpoint written in $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $s}") s ($(du -sh "$ck" | cut -f1))"
  fi
  case $m in
    i2vgen-xl) args=(--prompt "Papers were floating in the air on a table in the library" --negative-prompt "Distorted, discontinuous, Ugly, blurry, low resolution, motionless, static" --seed 8888) ;;
    svd-xt) args=(--seed 42 --decode-chunk 8) ;;
  esac
  rm -rf "/tmp/ptx-$m"
  for cache in empty warm warm-no-algorithm-cache; do
    s=$(date +%s.%N)
    extra=(); [ "$cache" = warm-no-algorithm-cache ] && extra=(-Di2vgen.cuda.algorithmCache=false)
    I2VGEN_TIMINGS=1 java_cmd "/tmp/ptx-$m" "${extra[@]}" generate --model "$ck" --image "$IMAGE" --device cuda --dtype fp16 "${args[@]}" \
      --output "/tmp/$m-$cache.mp4" > "$OUT/generate-$m-$cache.log" 2>&1 || rc=1
    echo "== $m, $cache kernel cache: $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $s}") s wall clock (outside)"
    grep -vE "Denoising|^\s*$" "$OUT/generate-$m-$cache.log" | tail -24
  done
done
exit $rc
