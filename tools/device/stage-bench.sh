#!/usr/bin/env bash
# Fills .device/bench/ for tools/device/run-bench.sh from the modules' target/classes (compile first:
# ./mvnw -o -q -pl examples -am compile) and the examples module's dependency jars.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .device/bench && mkdir -p .device/bench/classes .device/bench/lib
for m in tornado-kernels io model sampler examples; do cp -r "$m/target/classes" ".device/bench/classes/$m"; done
# The tiny demo model (7 MB) serves only --small: dropped to keep the carry under 64 MiB, except the CLIP
# vocabulary and merges, which the full-size bench's tokenizer (for the whole-pipeline run) reuses.
mv .device/bench/classes/examples/demo/checkpoint/tokenizer .device/bench/tokenizer
rm -rf .device/bench/classes/examples/demo
mkdir -p .device/bench/classes/examples/demo/checkpoint && mv .device/bench/tokenizer .device/bench/classes/examples/demo/checkpoint/tokenizer
./mvnw -B -q -o -pl examples dependency:build-classpath -Dmdep.outputFile="$PWD/.device/bench/cp.txt" >/dev/null
tr ':' '\n' < .device/bench/cp.txt | grep '\.jar$' | grep -v '/dev/i2vgen/' | grep -vE 'junit|opentest4j|apiguardian' | xargs -I{} cp {} .device/bench/lib/
du -sh .device/bench
