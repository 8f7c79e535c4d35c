#!/usr/bin/env bash
# The I4VGen reference cases, made by conformance/tools/make_i4vgen_reference_case.py (diffusers' I2VGen-XL components
# on the GPU machine's CPU; diffusers' source travels as .device-py/diffusers-src.tar.gz) on the tiny checkpoint and
# image: defaults (p_ni 0.6, step size 1, p_re 0.8), a list of step sizes with p_re 1.0, and eta > 0. They come back
# as one $OUT/cases.tar.gz; unpack it into conformance/cases/.
#
#   run: tools/device/make-i4vgen-cases.sh     (carry .device-py)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT" /tmp/py && rm -rf /tmp/i4vgen && mkdir -p /tmp/i4vgen
tar -xzf .device-py/diffusers-src.tar.gz -C /tmp/py && export PYTHONPATH=/tmp/py/src
rc=0
make_case() {  # name, extra arguments
  local name=$1; shift
  python3 conformance/tools/make_i4vgen_reference_case.py --out "/tmp/i4vgen/$name" --checkpoint conformance/cases/tiny/checkpoint \
    --image conformance/cases/tiny/input.png --threads 4 "$@" > "$OUT/$name.log" 2>&1 || { rc=1; echo "FAILED $name"; tail -8 "$OUT/$name.log"; return; }
  sed -i 's#"checkpoint": "[^"]*"#"checkpoint": "../tiny/checkpoint"#' "/tmp/i4vgen/$name/case.json"
  echo "ok $name: $(tail -1 "$OUT/$name.log")"
}
make_case tiny-i4vgen --steps 5
make_case tiny-i4vgen-steps --steps 5 --step-sizes 10,10,1 --regeneration-strength 1.0
make_case tiny-i4vgen-eta --steps 6 --eta 0.5 --ni-vsds-fraction 0.4
tar -czf "$OUT/cases.tar.gz" -C /tmp/i4vgen .
exit $rc
