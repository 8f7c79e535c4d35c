#!/usr/bin/env bash
# Runs `i2vgen bench` on the GPU machine. Expects (carried, git-ignored): .device-jre/jre.tar.xz and
# .device/bench/ holding classes/<module>/ (target/classes of tornado-kernels, io, model, sampler, examples) and
# lib/*.jar (the examples module's dependencies) — tools/device/stage-bench.sh fills it. Writes $OUT/bench.json
# and $OUT/bench.log; extra arguments go to the command (default: --device cuda --dtype fp16).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
JAVA=/tmp/jre/bin/java
[ -x "$JAVA" ] || tar -xJf .device-jre/jre.tar.xz -C /tmp
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
CP=$(ls -d .device/bench/classes/* | tr '\n' ':')$(ls .device/bench/lib/*.jar | tr '\n' ':')
ARGS=("$@"); [ ${#ARGS[@]} -eq 0 ] && ARGS=(--device cuda --dtype fp16)
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true
# signal chaining: GPU driver libraries replace the JVM's SIGSEGV handler (a silent SIGSEGV death without it; ./i2vgen)
LD_PRELOAD="$(dirname "$(dirname "$JAVA")")/lib/libjsig.so" "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx64g ${JAVA_OPTS:-} \
  -cp "$CP" dev.i2vgen.cli.I2VGenCommand bench "${ARGS[@]}" --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log"
exit ${PIPESTATUS[0]}
