#!/usr/bin/env bash
# Process start to MP4 (issue 17), in one GPU-machine call: writes the released architectures with the benchmark's
# random fp16 weights as checkpoint folders (`i2vgen bench --write-checkpoint`), then times `i2vgen generate --model
# DIR --device cuda --dtype fp16` end to end, each run with the I2VGEN_TIMINGS=1 breakdown, for each of CASES:
#   empty                    empty kernel, algorithm and driver JIT caches (CUDA_CACHE_PATH of our own, emptied)
#   warm                     the caches the run before filled
#   warm-no-algorithm-cache  warm kernels, every algorithm searched (-Di2vgen.cuda.algorithmCache=false)
#   empty-serial             empty caches again, kernels compiled one family at a time (-Di2vgen.cuda.parallelCompile=false)
#   warm-no-overlap          warm, and none of the start-up overlaps: serial kernels, uploads on the plans' thread
#                            (-Di2vgen.cuda.backgroundUploads=false), the MP4 written after decoding (-Di2vgen.video.streaming=false),
#                            plans built when taken (-Di2vgen.pipeline.planAhead=false), no encoder warm-up, the
#                            backend started after the checks (-Di2vgen.backend.earlyStart=false)
#   warm-no-plan-ahead       warm, every plan built by its stage (-Di2vgen.pipeline.planAhead=false): the A/B of plans
#                            built ahead (on by default)
#   warm-no-early-backend    warm, the backend started after the checks, not beside them (-Di2vgen.backend.earlyStart=false)
#   empty-ptx                empty caches, kernels compiled to PTX and JIT-compiled by the driver (-Di2vgen.cuda.kernelImage=ptx)
#   CASE-again               CASE once more (warm-again: its MP4 against warm's tells whether runs are deterministic)
#   warm-no-video-warm-up    warm, the MP4 encoder not warmed up while denoising (-Di2vgen.video.warmUp=false)
# The checkpoint was just written, so its files are in the page cache in every run. Class data sharing is on as in the
# ./i2vgen launcher (its archive emptied with the kernel cache; CDS=0 turns it off).
#
#   tools/device/run-all.sh stage          (here) stages .device/conformance; carry it
#   tools/device/run-startup.sh            (on the device) MODELS picks among "i2vgen-xl svd-xt", CASES among the
#                                          above (all by default: about 5 minutes per model); results in $OUT
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
STAGE=.device/conformance
JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
MODELS="${MODELS:-i2vgen-xl svd-xt}"
CASES="${CASES:-empty warm warm-again warm-no-plan-ahead warm-no-early-backend warm-no-algorithm-cache empty-serial warm-no-overlap empty-ptx}"
IMAGE=conformance/cases/tiny/input.png
java_cmd() {   # java_cmd PTX_CACHE [-Dkey=value...] ARGS...
  local ptx=$1; shift
  local props=(); while [[ "${1:-}" == -D* ]]; do props+=("$1"); shift; done
  # class data sharing as the ./i2vgen launcher does it (CDS=0: off); the archive beside the kernel cache, emptied with it
  [ "${CDS:-1}" != 0 ] && props+=(-XX:SharedArchiveFile="$ptx.jsa" -XX:+AutoCreateSharedArchive -Xlog:cds=off -Xlog:cds+dynamic=off -Xlog:aot=off)
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
  for cache in $CASES; do
    extra=()
    case ${cache%-again} in   # NAME-again: NAME once more (its MP4 against warm's: are the runs deterministic at all)
      empty) ;;
      warm) ;;
      warm-no-video-warm-up) extra=(-Di2vgen.video.warmUp=false) ;;
      warm-no-algorithm-cache) extra=(-Di2vgen.cuda.algorithmCache=false) ;;
      empty-serial) extra=(-Di2vgen.cuda.parallelCompile=false) ;;
      warm-no-overlap) extra=(-Di2vgen.cuda.parallelCompile=false -Di2vgen.cuda.backgroundUploads=false -Di2vgen.video.streaming=false
                              -Di2vgen.pipeline.planAhead=false -Di2vgen.video.warmUp=false -Di2vgen.backend.earlyStart=false) ;;
      warm-no-plan-ahead) extra=(-Di2vgen.pipeline.planAhead=false) ;;
      warm-no-early-backend) extra=(-Di2vgen.backend.earlyStart=false) ;;
      empty-ptx) extra=(-Di2vgen.cuda.kernelImage=ptx) ;;
      *) echo "unknown case $cache"; rc=1; continue ;;
    esac
    # the PTX and algorithm caches (the algorithms live inside the PTX folder) and the driver's JIT cache
    [[ $cache == empty* ]] && rm -rf "/tmp/ptx-$m" "/tmp/ptx-$m.jsa" "/tmp/nvcache-$m"
    s=$(date +%s.%N)
    CUDA_CACHE_PATH="/tmp/nvcache-$m" I2VGEN_TIMINGS=1 java_cmd "/tmp/ptx-$m" "${extra[@]}" generate --model "$ck" --image "$IMAGE" --device cuda --dtype fp16 "${args[@]}" \
      --output "/tmp/$m-$cache.mp4" > "$OUT/generate-$m-$cache.log" 2>&1 || rc=1
    echo "== $m, $cache kernel cache: $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N) - $s}") s wall clock (outside)"
    grep -vE "Denoising|^\s*$" "$OUT/generate-$m-$cache.log" | tail -32
    # the same frames give the same coded video (a difference can also come from a kernel that is not deterministic
    # run to run); the files' bytes also differ in the creation time jcodec writes into the header, so the mdat box is compared
    if [[ $cache != warm && -f "/tmp/$m-warm.mp4" && -f "/tmp/$m-$cache.mp4" ]]; then
      same=$(python3 -c 'import struct,sys
def mdat(p):
    b=open(p,"rb").read(); i=0
    while i+8<=len(b):
        n,t=struct.unpack(">I4s",b[i:i+8])
        if n==1: n=struct.unpack(">Q",b[i+8:i+16])[0]
        if t==b"mdat": return b[i:i+n]
        if n<8: break
        i+=n
print("identical" if mdat(sys.argv[1])==mdat(sys.argv[2]) else "differs")' "/tmp/$m-warm.mp4" "/tmp/$m-$cache.mp4" 2>/dev/null || echo "could not compare")
      echo "== $m, $cache: coded video (mdat) $same from warm's"
    fi
  done
done
exit $rc
