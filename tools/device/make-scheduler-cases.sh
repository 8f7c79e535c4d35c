#!/usr/bin/env bash
# The I2VGen-XL scheduler reference cases, made by diffusers on the GPU machine's CPU (it has PyTorch and
# transformers; diffusers' source travels as .device-py/diffusers-src.tar.gz): the tiny checkpoint, seed and inputs of
# conformance/cases/tiny, with the scheduler swapped as diffusers users swap it
# (pipe.scheduler = Cls.from_config(pipe.scheduler.config, **overrides)). Each case comes back as $OUT/<case>.tar.gz;
# unpack them into conformance/cases/. Also records that diffusers fails on DPM-Solver++ with Karras sigmas on the
# zero-SNR schedule ($OUT/karras.log), which the Java port refuses.
#
#   run: tools/device/make-scheduler-cases.sh     (carry .device-py)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT" /tmp/py /tmp/cases
tar -xzf .device-py/diffusers-src.tar.gz -C /tmp/py && export PYTHONPATH=/tmp/py/src
rc=0
run_case() {  # name steps scheduler-spec
  local name=$1 steps=$2 spec=$3
  python3 conformance/tools/make_reference_case.py --out "/tmp/cases/$name" --checkpoint conformance/cases/tiny/checkpoint \
    --image conformance/cases/tiny/input.png --prompt "A red fox jumps over a frozen lake at dawn, cinematic" \
    --negative-prompt "Distorted, discontinuous, ugly, blurry, low resolution, motionless, static" \
    --height 32 --width 48 --num-frames 4 --steps "$steps" --guidance 9.0 --fps 16 --seed 8888 --decode-chunk-size 1 \
    --threads 4 --scheduler "$spec" > "$OUT/$name.log" 2>&1 || { rc=1; echo "FAILED $name"; tail -5 "$OUT/$name.log"; return; }
  # the case points at the bundled tiny checkpoint, as tiny-noguidance does
  python3 - "/tmp/cases/$name/case.json" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p)); c["checkpoint"] = "../tiny/checkpoint"; json.dump(c, open(p, "w"), indent=1)
PY
  tar -czf "$OUT/$name.tar.gz" -C /tmp/cases "$name"
  echo "ok $name"
}
run_case tiny-dpmpp 8 "DPMSolverMultistepScheduler"
run_case tiny-dpmpp-sde3 8 "DPMSolverMultistepScheduler:algorithm_type=sde-dpmsolver++,solver_order=3"
run_case tiny-euler-ancestral 8 "EulerAncestralDiscreteScheduler"
run_case tiny-unipc 8 "UniPCMultistepScheduler"
run_case tiny-unipc-bh1-3 8 "UniPCMultistepScheduler:solver_type=bh1,solver_order=3"
run_case tiny-euler 8 "EulerDiscreteScheduler"
run_case tiny-ddpm 8 "DDPMScheduler"
run_case tiny-lcm 4 "LCMScheduler"
python3 - > "$OUT/karras.log" 2>&1 <<'PY'
import json, torch, diffusers
cfg = json.load(open("conformance/cases/tiny/checkpoint/scheduler/scheduler_config.json"))
for steps in (3, 8, 25, 50):
    s = diffusers.DPMSolverMultistepScheduler.from_config(cfg, use_karras_sigmas=True)
    s.set_timesteps(steps)
    x = torch.randn(1, 4, 4, 6)
    try:
        for t in s.timesteps:
            x = s.step(torch.randn_like(x), t, x).prev_sample
        print(steps, "ok", s.timesteps.tolist())
    except Exception as e:
        print(steps, type(e).__name__, e, s.timesteps.tolist())
PY
cat "$OUT/karras.log"
exit $rc
