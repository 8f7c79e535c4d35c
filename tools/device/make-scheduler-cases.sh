#!/usr/bin/env bash
# The I2VGen-XL scheduler reference cases, made by diffusers on the GPU machine's CPU (it has PyTorch and
# transformers; diffusers' source travels as .device-py/diffusers-src.tar.gz): the tiny checkpoint, seed and inputs of
# conformance/cases/tiny, with the scheduler swapped as diffusers users swap it
# (pipe.scheduler = Cls.from_config(pipe.scheduler.config, **overrides)); with PARTS containing "svd", the same for
# Stable Video Diffusion on the svd-tiny checkpoint (conformance/tools/make_svd_reference_cases.py). The cases come
# back as one $OUT/cases.tar.gz, stripped to the tensors the tests compare (the device returns at most 8 files);
# unpack it into conformance/cases/. Also records what diffusers does on the combinations the Java port refuses
# ($OUT/refused.log): DPM-Solver++ with Karras sigmas on the zero-SNR schedule (IndexError) and UniPC's bh1 update
# onto σ = 0 (NaN latents).
#
#   run: PARTS="i2vgen svd refused" tools/device/make-scheduler-cases.sh     (carry .device-py)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT" /tmp/py /tmp/cases
tar -xzf .device-py/diffusers-src.tar.gz -C /tmp/py && export PYTHONPATH=/tmp/py/src
PARTS="${PARTS:-i2vgen svd refused}"
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
  echo "ok $name"
}
if [[ " $PARTS " == *" i2vgen "* ]]; then
  run_case tiny-dpmpp 8 "DPMSolverMultistepScheduler"
  run_case tiny-dpmpp-sde3 8 "DPMSolverMultistepScheduler:algorithm_type=sde-dpmsolver++,solver_order=3"
  run_case tiny-euler-ancestral 8 "EulerAncestralDiscreteScheduler"
  run_case tiny-unipc 8 "UniPCMultistepScheduler"
  run_case tiny-euler 8 "EulerDiscreteScheduler"
  run_case tiny-ddpm 8 "DDPMScheduler"
  run_case tiny-lcm 4 "LCMScheduler"
fi
if [[ " $PARTS " == *" svd "* ]]; then
  cp -r conformance/cases/svd-tiny /tmp/cases/
  python3 conformance/tools/make_svd_reference_cases.py /tmp/cases svd-tiny-ancestral svd-tiny-dpmpp > "$OUT/svd.log" 2>&1 || { rc=1; tail -5 "$OUT/svd.log"; }
  rm -rf /tmp/cases/svd-tiny
fi
# keep what the tests compare: the schedule, the initial latents, every step, the decoded latents and the frames
python3 - <<'PY'
import json, os, re
from safetensors.torch import load_file, save_file
keep = re.compile(r"^(timesteps|sigmas|initial_latents|step\.\d+\.(model_output|sample|prev_sample|timestep)|decode\.latents|frames_uint8|frames_float)$")
for c in sorted(os.listdir("/tmp/cases")):
    path = f"/tmp/cases/{c}/tensors.safetensors"
    kept = {k: v.contiguous() for k, v in load_file(path).items() if keep.match(k)}
    save_file(kept, path)
    meta = json.load(open(f"/tmp/cases/{c}/case.json"))
    meta["tensors"] = {k: list(v.shape) for k, v in sorted(kept.items())} if isinstance(meta.get("tensors"), dict) else sorted(kept)
    json.dump(meta, open(f"/tmp/cases/{c}/case.json", "w"), indent=1)
PY
tar -czf "$OUT/cases.tar.gz" -C /tmp/cases .
if [[ " $PARTS " == *" refused "* ]]; then
  python3 - > "$OUT/refused.log" 2>&1 <<'PY'
import json, torch, diffusers
cfg = json.load(open("conformance/cases/tiny/checkpoint/scheduler/scheduler_config.json"))
def run(cls, steps, **overrides):
    s = getattr(diffusers, cls).from_config(cfg, **overrides)
    s.set_timesteps(steps)
    x = torch.randn(1, 4, 4, 6)
    try:
        for t in s.timesteps:
            x = s.step(torch.randn_like(x), t, x).prev_sample
        print(cls, overrides, steps, "finite" if torch.isfinite(x).all() else "NON-FINITE", s.timesteps.tolist())
    except Exception as e:
        print(cls, overrides, steps, type(e).__name__, e, s.timesteps.tolist())
for steps in (3, 8, 25, 50):
    run("DPMSolverMultistepScheduler", steps, use_karras_sigmas=True)
    run("UniPCMultistepScheduler", steps, solver_type="bh1")
PY
  cat "$OUT/refused.log"
fi
exit $rc
