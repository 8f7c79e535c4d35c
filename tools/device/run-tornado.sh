#!/usr/bin/env bash
# The TornadoVM backend (issue 19) on the GPU machine, one call: TornadoVM's OpenCL backend on the NVIDIA OpenCL
# driver, beside the JVM, OpenCL and CUDA backends on the same machine.
#   bench     `i2vgen bench --small --dtype fp32` per backend (tornado, cuda, opencl, jvm): the README's stage table
#   generate  the demo video per backend, I2VGEN_TIMINGS=1 (fresh process: plan builds and kernel compiles included)
#   tests     TornadoOpsTest and TornadoConformanceTest (the tiny and tiny-noguidance cases) on the GPU
#
#   tools/device/run-tornado.sh stage   (here, TORNADOVM_HOME set) fills .device/tornado: a JRE with JVMCI and a
#       trimmed TornadoVM SDK (the modules its OpenCL backend loads, jars re-stored uncompressed so that xz packs
#       them: 27 MB together), the CLI jar with the demo model, the tornado-backend jar and the test classes.
#       Carry ".device/tornado"; the tree must keep conformance/cases/{tiny,tiny-noguidance} (untrack the rest).
#   tools/device/run-tornado.sh         (on the device) PARTS picks among "bench generate tests"; results in $OUT/results.tar.gz.
# Every part runs under a time limit (PART_LIMIT seconds, default 170) so that one slow part leaves the others time.
set -uo pipefail
cd "$(dirname "$0")/../.."
STAGE=.device/tornado
if [ "${1:-}" = stage ]; then
  set -e
  : "${TORNADOVM_HOME:?set TORNADOVM_HOME to the TornadoVM SDK (README, TornadoVM backend)}"
  JDK=${JDK25_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
  ./mvnw -B -q -o -Ptornado -pl examples,conformance,tornado-backend -am package -DskipTests
  ./mvnw -B -q -o -Ptornado -pl tornado-kernels,conformance,tornado-backend test-compile
  rm -rf "$STAGE" && mkdir -p "$STAGE/test-classes"
  cp examples/target/i2vgen.jar "$STAGE/"
  # the server's libraries (Kotlin, Javalin, Jetty) serve no part here: dropped to keep tree + carry under 64 MiB
  zip -q -d "$STAGE/i2vgen.jar" 'kotlin/*' 'io/javalin/*' 'org/eclipse/*' 'org/jline/nativ/*' 'net/sourceforge/jaad/*' >/dev/null
  cp "$(ls tornado-backend/target/tornado-backend-*.jar | grep -v -e sources -e tests | head -1)" "$STAGE/tornado-backend.jar"
  for m in tornado-kernels conformance tornado-backend; do cp -r "$m/target/test-classes/." "$STAGE/test-classes/"; done
  rm -rf "$STAGE/test-classes/malformed-inputs"
  cp "$(find ~/.m2/repository/org/junit/platform/junit-platform-console-standalone -name '*.jar' | sort | tail -1)" "$STAGE/junit.jar"
  tmp=$(mktemp -d)
  "$JDK/bin/jlink" --add-modules java.base,java.desktop,java.logging,jdk.incubator.vector,jdk.unsupported,jdk.internal.vm.ci,java.management,jdk.management \
    --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$tmp/jre" 2>&1 | grep -v "incubator modules" || true
  rm -f "$tmp"/jre/lib/lib{fontmanager,freetype,awt_xawt,splashscreen,jsound}.so
  t="$tmp/tornadovm"; mkdir -p "$t/share/java/graalJars" "$t/share/java/tornado" "$t/lib" "$t/etc"
  cp "$TORNADOVM_HOME"/lib/* "$t/lib/"; cp "$TORNADOVM_HOME/tornado-argfile.template" "$t/"
  cp -r "$TORNADOVM_HOME"/etc/{tornado.backend,tornado.properties,tornado.release,exportLists} "$t/etc/"
  # the Graal compiler and what it requires (no Truffle, polyglot or native-image jars: nothing loads them)
  for j in collections compiler truffle-compiler word; do cp "$TORNADOVM_HOME"/share/java/graalJars/$j-*.jar "$t/share/java/graalJars/"; done
  for j in asm commons-math3 snmp4j log4j-api log4j-core jsr305 commons-lang3 collections word tornado-annotation \
      tornado-api tornado-runtime tornado-drivers-common tornado-drivers-opencl tornado-drivers-opencl-jni; do
    cp "$TORNADOVM_HOME"/share/java/tornado/$j-[0-9]*.jar "$t/share/java/tornado/"
  done
  for j in "$t"/share/java/*/*.jar; do
    d=$(mktemp -d); (cd "$d" && unzip -q "$j") && rm "$j"
    if [ -f "$d/META-INF/MANIFEST.MF" ]; then "$JDK/bin/jar" --create --no-compress --file "$j" --manifest "$d/META-INF/MANIFEST.MF" -C "$d" .
    else "$JDK/bin/jar" --create --no-compress --file "$j" -C "$d" .; fi
    rm -rf "$d"
  done
  tar -C "$tmp" -cf - jre tornadovm | xz -9 -T0 > "$STAGE/bundle.tar.xz"
  rm -rf "$tmp"
  du -sh "$STAGE"/*
  exit 0
fi
FINAL="${OUT:-$PWD/out}"
OUT=/tmp/tornado-out   # everything goes back as one archive
rm -rf "$OUT" && mkdir -p "$OUT" "$FINAL"
[ -f "$STAGE/bundle.tar.xz" ] || { echo "$STAGE is missing: run '$0 stage' here and carry $STAGE" >&2; exit 2; }
B=/tmp/tornado-bundle
[ -x "$B/jre/bin/java" ] || { mkdir -p "$B" && tar -xJf "$STAGE/bundle.tar.xz" -C "$B"; }
export TORNADOVM_HOME="$B/tornadovm"
sed "s#\${TORNADOVM_HOME}#$TORNADOVM_HOME#g" "$TORNADOVM_HOME/tornado-argfile.template" > "$TORNADOVM_HOME/tornado-argfile"
export CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"
JAVA="$B/jre/bin/java"
LIMIT="${PART_LIMIT:-170}"
PARTS="${PARTS:-bench generate tests}"
CP="$STAGE/i2vgen.jar:$STAGE/tornado-backend.jar"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# java_run BACKEND ARGS...: TornadoVM's argfile only for the tornado backend (the others run as ./i2vgen runs them)
java_run() {
  local backend=$1; shift
  local tornado=(); [ "$backend" = tornado ] && tornado=("@$TORNADOVM_HOME/tornado-argfile" -Dtornado.device.memory=8GB)
  LD_PRELOAD="$B/jre/lib/libjsig.so" timeout "$LIMIT" "$JAVA" "${tornado[@]}" --add-modules jdk.incubator.vector \
    --enable-native-access=ALL-UNNAMED -Djava.awt.headless=true -Xss8m -Xmx16g "$@"
}
rc=0
if [[ " $PARTS " == *" bench "* ]]; then
  for backend in tornado cuda opencl jvm; do
    java_run $backend -cp "$CP" dev.i2vgen.cli.I2VGenCommand bench --small --dtype fp32 --device $backend ${BENCH_ARGS:---pipeline-steps 10} \
      --json "$OUT/bench-$backend.json" > "$OUT/bench-$backend.log" 2>&1 || { rc=1; echo "bench $backend: exit $?"; }
    echo "== bench $backend"; grep -E "^Device|^bench on|^(text_encode|image_encode|vae_encode|unet_step_cfg|vae_decode4_chunk1|pipeline_50) " "$OUT/bench-$backend.log"
    grep -iE "^error|exception" "$OUT/bench-$backend.log" | head -3
  done
fi
if [[ " $PARTS " == *" generate "* ]]; then
  for backend in tornado cuda opencl jvm; do
    I2VGEN_TIMINGS=1 java_run $backend -cp "$CP" dev.i2vgen.cli.I2VGenCommand generate --device $backend \
      --output "/tmp/demo-$backend.mp4" > "$OUT/generate-$backend.log" 2>&1 || { rc=1; echo "generate $backend: exit $?"; }
    echo "== generate $backend"; grep -E "^Wrote|stage:|total, process|^error" "$OUT/generate-$backend.log"
  done
fi
if [[ " $PARTS " == *" tests "* ]]; then
  # the test classes on the JVM's class path, not the launcher's: TornadoVM reads a kernel's class file through it
  LIMIT=$((LIMIT * 2)) java_run tornado -Xmx8g -cp "$STAGE/junit.jar:$CP:$STAGE/test-classes" org.junit.platform.console.ConsoleLauncher execute \
    --select-class dev.i2vgen.backend.tornado.TornadoOpsTest \
    --select-iteration "method:dev.i2vgen.conformance.TornadoConformanceTest#everyStageFromRecordedInputs(java.lang.String)[0,2]" \
    --select-iteration "method:dev.i2vgen.conformance.TornadoConformanceTest#generateMatchesDiffusers(java.lang.String)[0,2]" \
    --details=tree --disable-banner --reports-dir "$OUT/reports" > "$OUT/tests.log" 2>&1 || rc=1
  echo "== tests"; grep -E "tests (successful|failed|aborted|skipped)|relative error|TornadoVM device" "$OUT/tests.log" | head -30
  grep -E "✘" "$OUT/tests.log" | head -20
fi
tar -czf "$FINAL/results.tar.gz" -C "$OUT" .
exit $rc
