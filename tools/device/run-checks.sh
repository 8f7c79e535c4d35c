#!/usr/bin/env bash
# One GPU-machine call for issue 17's checks, each part bounded so that the call returns with its results (tar under
# $OUT/call.tar.gz, summary on stdout): PARTS among "ops conf startup geglu bench bench-geglu bench-maxk profile" (that order by default):
#   ops      the CUDA op tests (tornado-kernels, package dev.i2vgen.backend.cuda), at most OPS_CAP s (170); ops12 those of
#            session 12's changes (attention, softmax, temporal conv GEMMs, the channels-last decoder, convs, islands)
#   conf     the conformance tests (I2VGen-XL and SVD), stage by stage and end to end, every backend the machine has; conf-ahead the same
#            with plans built ahead and the fused GEGLU switched on explicitly; link the CUDA plan-link tests alone
#   startup  run-startup.sh for I2VGen-XL, CASES (default "empty warm warm-again warm-no-plan-ahead"), at most STARTUP_CAP s (150)
#   geglu    the fused GEGLU benchmark, every output of both plans checked (names a non-finite one)
#   bench    i2vgen bench rows (UNet step, decode; no whole pipeline); bench-geglu the same without the fused GEGLU GEMM,
#            bench-maxk with it at K = 1280 too (gegluFusionMaxK's A/B), bench-ptx with the kernels loaded as PTX (not CUBIN),
#            bench-new with session 12's opt-in kernels and fusions on (NEW12; A/B with bench), bench-svd the SVD-XT rows;
#            conf-new and profile-new: conf and profile with NEW12
#            (BENCH_CACHE: the kernel cache they share, e.g. /tmp/ptx-i2vgen-xl to warm the startup runs' cache)
#   profile  the per-kernel, per-shape profile of the UNet step and the decoder (-Di2vgen.cuda.profile=3)
# LIMIT (565 s) bounds the whole call; a JUnit part that hits its cap prints its main thread (a thread dump). Stage first, here: tools/device/run-all.sh stage; carry .device/conformance.
set -uo pipefail
cd "$(dirname "$0")/../.."
FINAL="${OUT:-$PWD/out}"; W=/tmp/call; rm -rf $W; mkdir -p $W "$FINAL"
START=$(date +%s); LIMIT=${LIMIT:-565}; left() { echo $((LIMIT - ($(date +%s) - START))); }
STAGE=.device/conformance; JAVA=/tmp/conformance-jre/jre/bin/java
[ -x "$JAVA" ] || { mkdir -p /tmp/conformance-jre && tar -xJf "$STAGE/jre/jre.tar.xz" -C /tmp/conformance-jre; }
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
save() { tar -czf "$FINAL/call.tar.gz" -C $W . 2>/dev/null; }
junit() { local name=$1 limit=$2 opts=$3; shift 3; [ "$limit" -gt "$(left)" ] && limit=$(left); [ "$limit" -gt 20 ] || { echo "== $name skipped"; return; }
  # at the limit a thread dump (SIGQUIT) names what was running, then the kill
  s=$(date +%s); timeout -s QUIT -k 6 $limit env LD_PRELOAD=/tmp/conformance-jre/jre/lib/libjsig.so "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true \
    -Xmx48g $opts -jar $STAGE/junit-platform-console-standalone.jar execute --class-path "$STAGE/i2vgen.jar:$STAGE/test-classes" "$@" \
    --details=tree --disable-banner --reports-dir $W/rep-$name > $W/$name.log 2>&1; echo "== $name exit $? in $(( $(date +%s) - s )) s"
  grep -E "tests (successful|failed|aborted|skipped)" $W/$name.log; grep -E "✘" -A2 $W/$name.log | head -24
  grep -q "Full thread dump" $W/$name.log && { echo "-- $name hit its limit; the main thread:"; grep -A24 '^"main"' $W/$name.log | head -26; }; save; }
bench() { local name=$1 opts=$2; shift 2; local limit=$(left); [ "$limit" -gt 40 ] || { echo "== $name skipped"; return; }
  s=$(date +%s); timeout $limit env LD_PRELOAD=/tmp/conformance-jre/jre/lib/libjsig.so "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -Djava.awt.headless=true -Xmx64g -Di2vgen.ptx.cache=${BENCH_CACHE:-/tmp/ptx-bench} $opts -cp $STAGE/i2vgen.jar dev.i2vgen.cli.I2VGenCommand bench --device cuda --dtype fp16 "$@" --json $W/$name.json > $W/$name.log 2>&1
  echo "== $name ($opts) exit $? in $(( $(date +%s) - s )) s"; grep -E "^(text_encode|image_encode|vae_encode|unet_step_cfg|unet_step_cfg_peak_memory|vae_decode[0-9]+_chunk[0-9]+|pipeline_[0-9]+_steps|peak_memory_pipeline) |last run by stage|xception" $W/$name.log | head -14; save; }
# session 12's opt-in switches (notes section 24): built and JVM-tested, not yet run on a GPU
NEW12="-Di2vgen.cuda.softmaxRows=true -Di2vgen.cuda.smallHeadAttention=true -Di2vgen.cuda.temporalStackedTaps=true -Di2vgen.cuda.nhwcResidual=true"
for part in ${PARTS:-ops conf startup geglu bench bench-geglu bench-maxk profile}; do case $part in
  ops) junit ops ${OPS_CAP:-170} "" --select-package dev.i2vgen.backend.cuda ;;
  ops12) T=dev.i2vgen.backend.cuda.CudaOpsTest; D=dev.i2vgen.tensor.DType   # the op tests of session 12's changes
        junit ops12 ${OPS_CAP:-170} "" --select-method "$T#attention($D)" --select-method "$T#normalizationAndLayout($D)" \
          --select-method "$T#temporalConvGemms(boolean, $D)" --select-method "$T#channelsLastDecoder($D)" --select-method "$T#gemmsAndConvolutions($D)" \
          --select-method "$T#convIslands($D)" --select-class dev.i2vgen.backend.cuda.CudaGegluFusionTest ;;
  link) junit link 60 "" --select-class dev.i2vgen.backend.cuda.CudaPlanLinkTest ;;
  conf) junit conf 150 "" --select-class dev.i2vgen.conformance.StageConformanceTest --select-class dev.i2vgen.conformance.PipelineConformanceTest \
        --select-class dev.i2vgen.conformance.SvdStageConformanceTest --select-class dev.i2vgen.conformance.SvdPipelineConformanceTest
        grep -E "relative error per stage|rel" $W/conf.log | grep -i cuda | head -12 ;;
  startup) l=$(left); [ $l -gt 60 ] && { [ $l -gt ${STARTUP_CAP:-150} ] && l=${STARTUP_CAP:-150}; OUT=$W/startup MODELS=i2vgen-xl CASES="${CASES:-empty warm warm-again warm-no-plan-ahead}" timeout $l tools/device/run-startup.sh > $W/startup.txt 2>&1
        grep -E "^==|total|NVRTC|kernels:|plan|waited|left after|stage: (denoise|decode)" $W/startup.txt | head -80; save; } ;;
  geglu) junit geglu 80 "-Di2vgen.cuda.bench=true" --select-method "dev.i2vgen.backend.cuda.CudaBenchmarkTest#gegluFeedForwardProjection()"
         grep -E "^BENCH   |non-finite" $W/geglu.log | head -14 ;;
  bench) bench bench "" --warmup 1 --repeats 3 --pipeline-repeats ${BENCH_PIPELINE:-0} ;;   # BENCH_PIPELINE=1: the whole video too
  bench-geglu) bench bench-geglu "-Di2vgen.cuda.gegluFusion=false" --warmup 1 --repeats 3 --pipeline-repeats 0 ;;   # bench's A/B
  bench-maxk) bench bench-maxk "-Di2vgen.cuda.gegluFusionMaxK=1280" --warmup 1 --repeats 3 --pipeline-repeats 0 ;;   # levels 2-3 fused too
  bench-new) bench bench-new "$NEW12" --warmup 1 --repeats 3 --pipeline-repeats ${BENCH_PIPELINE:-0} ;;   # session 12's four switches on (A/B with bench)
  profile-new) bench profile-new "$NEW12 -Di2vgen.cuda.profile=3 -Di2vgen.cuda.profileDetail=true" --warmup 3 --repeats 1 --pipeline-repeats 0 ;;
  conf-new) junit conf-new 150 "$NEW12" --select-class dev.i2vgen.conformance.StageConformanceTest --select-class dev.i2vgen.conformance.PipelineConformanceTest \
        --select-class dev.i2vgen.conformance.SvdStageConformanceTest --select-class dev.i2vgen.conformance.SvdPipelineConformanceTest ;;
  bench-svd) bench bench-svd "" --model svd-xt --warmup 1 --repeats 3 --pipeline-repeats 0 ;;
  bench-ptx) bench bench-ptx "-Di2vgen.cuda.kernelImage=ptx" --warmup 1 --repeats 3 --pipeline-repeats 0 ;;   # PTX loaded by the driver, not CUBIN
  conf-ahead) junit conf-ahead 120 "-Di2vgen.pipeline.planAhead=true -Di2vgen.cuda.gegluFusion=true" \
        --select-class dev.i2vgen.conformance.StageConformanceTest --select-class dev.i2vgen.conformance.PipelineConformanceTest ;;
  profile) bench profile "-Di2vgen.cuda.profile=3 -Di2vgen.cuda.profileDetail=true" --warmup 3 --repeats 1 --pipeline-repeats 0 ;;
esac; done
save; echo "elapsed $(( $(date +%s) - START )) s"
