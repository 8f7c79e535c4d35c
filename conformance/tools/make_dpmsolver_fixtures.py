#!/usr/bin/env python3
"""Records diffusers' DPMSolverMultistepScheduler on a grid of configurations, for the Java port's fixture test.

Developer tool (needs torch, diffusers and scipy, for beta sigmas; runs on the CPU in a few seconds). For every case
and step count it writes what set_timesteps produced (timesteps, sigmas, init_noise_sigma) and a whole sampling run:
the initial sample, every model output (small random tensors), the noise seed of every step (the sde variants draw
from torch.Generator().manual_seed(seed); the Java test redraws with TorchGenerator) and every prev_sample. It also
records invalid configurations and calls with the error diffusers raises and where (constructor, set_timesteps, or
which step of the loop). The Java tests DpmSolverMultistepFixtureTest read it.

    python3 conformance/tools/make_dpmsolver_fixtures.py \
        --out sampler/src/test/resources/scheduler-fixtures/dpmsolver.json

torch's CPU log, exp and sqrt (MKL's vector math, also for 0-d tensors) are not correctly rounded: a few percent of
float32 arguments come out 1 ulp away from the correctly rounded value, and which ones depends on the CPU's code path.
So every run is recorded twice: as diffusers computes it, and with torch.log / torch.exp / torch.sqrt / Tensor.sqrt /
tensor ** 0.5 replaced by their correctly rounded float32 values (computed in float64 and rounded once), which is
what the Java port computes. The second recording ("*_cr" keys, present where it differs) isolates the port's
arithmetic order from MKL's rounding.

Schedulers are built with DPMSolverMultistepScheduler.from_config(config), as a pipeline loads scheduler_config.json
(so keys of other schedulers are ignored, and sigma_min / sigma_max are kept). Every tensor value is a float32 written
with the shortest decimal that reads back as the same float32.
"""

import argparse
import contextlib
import json
from pathlib import Path

import numpy as np
import scipy
import torch

import diffusers
from diffusers import DPMSolverMultistepScheduler

ROOT = Path(__file__).resolve().parents[2]
I2V = json.loads((ROOT / "sampler/src/test/resources/i2vgen-xl-scheduler_config.json").read_text())
SD = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
COSINE = dict(beta_schedule="squaredcos_cap_v2")
SIGMA_MIN = dict(final_sigmas_type="sigma_min")  # required by the non-++ algorithms
FLOW = dict(use_flow_sigmas=True, prediction_type="flow_prediction")

SMALL = [2, 3]            # below 16 values: torch's scalar randn path
VECTOR = [1, 4, 2, 3]     # 24 values: the vectorised path with its redrawn tail
IMAGE = [2, 3, 4]         # thresholding needs [batch, channels, ...]

# (name, config, set_timesteps calls: an int n, a dict, or a list of dicts applied in order; options)
CASES = [
    ("defaults", {}, [1, 2, 5, 12], dict(add_noise_at=3)),
    ("order1", dict(solver_order=1), [4], {}),
    ("order3", dict(solver_order=3), [3, 6, 20], {}),
    ("order3-no-lower-final", dict(solver_order=3, lower_order_final=False), [8], {}),
    ("order4-runs-as-3", dict(solver_order=4), [7], {}),
    ("heun", dict(solver_type="heun"), [10], {}),
    ("heun-order3-leading", dict(SD, solver_type="heun", solver_order=3, timestep_spacing="leading", steps_offset=1),
     [16], {}),
    ("euler-at-final", dict(SD, euler_at_final=True, **SIGMA_MIN), [10, 16], {}),
    ("sigma-min-order3", dict(SD, solver_order=3, lower_order_final=False, **SIGMA_MIN), [9], {}),
    ("dpmsolver", dict(algorithm_type="dpmsolver", **SIGMA_MIN), [10], {}),
    ("dpmsolver-heun-order3", dict(algorithm_type="dpmsolver", solver_type="heun", solver_order=3, **SIGMA_MIN),
     [6, 16], {}),
    ("dpmsolver-sample", dict(algorithm_type="dpmsolver", prediction_type="sample", **SIGMA_MIN), [8], {}),
    ("dpmsolver-v-order3", dict(SD, algorithm_type="dpmsolver", prediction_type="v_prediction", solver_order=3,
                                **SIGMA_MIN), [12], {}),
    ("sde++", dict(algorithm_type="sde-dpmsolver++"), [10], {}),
    ("sde++-heun-v", dict(SD, algorithm_type="sde-dpmsolver++", solver_type="heun", prediction_type="v_prediction"),
     [8], dict(shape=VECTOR)),
    ("sde++-order3", dict(SD, algorithm_type="sde-dpmsolver++", solver_order=3), [5, 16], dict(shape=VECTOR)),
    ("sde++-variance-noise", dict(algorithm_type="sde-dpmsolver++"), [5], dict(variance_noise=True)),
    ("sde", dict(algorithm_type="sde-dpmsolver", **SIGMA_MIN), [8], {}),
    ("sde-heun", dict(algorithm_type="sde-dpmsolver", solver_type="heun", **SIGMA_MIN), [8], dict(shape=VECTOR)),
    ("sde-order1", dict(algorithm_type="sde-dpmsolver", solver_order=1, **SIGMA_MIN), [4], {}),
    # with 4 steps or fewer the third-order update diffusers lacks for sde-dpmsolver is never reached
    ("sde-order3-short", dict(algorithm_type="sde-dpmsolver", solver_order=3, **SIGMA_MIN), [4], {}),
    ("sample", dict(prediction_type="sample"), [7], {}),
    ("v-trailing", dict(SD, prediction_type="v_prediction", timestep_spacing="trailing"), [10], {}),
    ("flow", dict(FLOW, flow_shift=3.0), [10], {}),
    ("flow-sde++-order3", dict(FLOW, flow_shift=3.0, solver_order=3, algorithm_type="sde-dpmsolver++"), [16], {}),
    # mu sets config.flow_shift = e^mu, which stays for the later call without mu
    ("flow-dynamic-shift", dict(FLOW, use_dynamic_shifting=True), [[dict(num_inference_steps=5, mu=0.7),
                                                                    dict(num_inference_steps=8)]], {}),
    ("flow-prediction-vp-sigmas", dict(prediction_type="flow_prediction"), [5], {}),
    ("flow-sigmas-epsilon-sigma-min", dict(use_flow_sigmas=True, **SIGMA_MIN), [6], {}),
    ("thresholding", dict(thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=2.5), [8],
     dict(shape=IMAGE)),
    ("thresholding-dpmsolver-v", dict(algorithm_type="dpmsolver", prediction_type="v_prediction", thresholding=True,
                                      sample_max_value=1.5, **SIGMA_MIN), [6], dict(shape=IMAGE)),
    ("thresholding-sde-eps", dict(algorithm_type="sde-dpmsolver", thresholding=True, sample_max_value=3.0,
                                  **SIGMA_MIN), [5], dict(shape=IMAGE)),
    ("learned-variance", dict(variance_type="learned"), [5], dict(shape=[2, 3, 2], model_shape=[2, 6, 2])),
    ("learned-range-dpmsolver", dict(variance_type="learned_range", algorithm_type="dpmsolver", **SIGMA_MIN), [5],
     dict(shape=[2, 3, 2], model_shape=[2, 6, 2])),
    ("fixed-small-variance-ignored", dict(variance_type="fixed_small"), [4], {}),
    ("leading-offset", dict(SD, timestep_spacing="leading", steps_offset=1), [1, 7, 25], {}),
    ("trailing", dict(SD, timestep_spacing="trailing"), [7, 25], {}),
    # numpy's arange(100, 0, -100/29) has 30 values: diffusers then runs 30 steps
    ("trailing-arange-length", dict(num_train_timesteps=100, timestep_spacing="trailing"), [29], {}),
    ("cosine-clipped-linspace", dict(COSINE, lambda_min_clipped=-5.1), [10], {}),
    ("cosine-clipped-leading", dict(COSINE, lambda_min_clipped=-5.1, timestep_spacing="leading"), [10], {}),
    ("cosine-clipped-trailing", dict(COSINE, lambda_min_clipped=-5.1, timestep_spacing="trailing"), [10], {}),
    ("karras", dict(SD, use_karras_sigmas=True), [5, 25], {}),
    # more steps repeat the first timestep (see ERRORS)
    ("karras-cosine", dict(COSINE, use_karras_sigmas=True), [3], {}),
    ("karras-config-range", dict(SD, use_karras_sigmas=True, sigma_min=0.03, sigma_max=12.0,
                                 prediction_type="v_prediction", timestep_spacing="leading", steps_offset=1), [10], {}),
    ("exponential", dict(SD, use_exponential_sigmas=True), [7], {}),
    ("exponential-config-range", dict(SD, use_exponential_sigmas=True, sigma_min=0.03, sigma_max=14.6), [7], {}),
    ("beta", dict(SD, use_beta_sigmas=True), [7], {}),
    ("lu", dict(SD, use_lu_lambdas=True), [7, 20], {}),
    ("lu-cosine-order3", dict(COSINE, use_lu_lambdas=True, solver_order=3), [10], {}),
    ("trained-betas", dict(num_train_timesteps=50, trained_betas=[0.0005 + 0.0008 * i for i in range(50)],
                           timestep_spacing="leading"), [6], {}),
    ("zero-snr-trailing-v", dict(SD, rescale_betas_zero_snr=True, timestep_spacing="trailing",
                                 prediction_type="v_prediction"), [10, 25], {}),
    ("i2vgen-xl", I2V, [1, 5, 25], dict(shape=VECTOR)),
    ("i2vgen-xl-trailing-sde++-order3", dict(I2V, timestep_spacing="trailing", algorithm_type="sde-dpmsolver++",
                                             solver_order=3), [25], dict(shape=VECTOR)),
    # zero SNR with Karras sigmas runs in diffusers only while the first timestep does not repeat
    ("i2vgen-xl-karras-few-steps", dict(I2V, use_karras_sigmas=True), [3, 4], {}),
    ("deis-alias", dict(algorithm_type="deis", **SIGMA_MIN), [6], {}),
    ("bh2-alias", dict(solver_type="bh2", solver_order=3), [8], {}),
    ("custom-timesteps", SD, [dict(timesteps=[999, 800, 500, 300, 100, 10])], {}),
    ("begin-index", dict(SD, solver_order=3), [12], dict(begin_index=4, add_noise_at=4)),
]

# (config, set_timesteps calls or None, shape): diffusers raises in the constructor, set_timesteps or the loop.
# "mentions": what the Java port's own message must say where diffusers' error is no ValueError with a message.
ERRORS = [
    (dict(use_karras_sigmas=True, use_beta_sigmas=True), None, {}),
    (dict(use_exponential_sigmas=True, use_karras_sigmas=True), None, {}),
    (dict(algorithm_type="dpmsolver"), None, {}),
    (dict(algorithm_type="sde-dpmsolver"), None, {}),
    (dict(algorithm_type="deis"), None, {}),
    (dict(algorithm_type="foo"), None, {}),
    (dict(solver_type="foo"), None, {}),
    (dict(beta_schedule="foo"), None, {}),
    ({}, [dict()], {}),
    ({}, [dict(num_inference_steps=3, timesteps=[10, 5])], {}),
    (dict(use_karras_sigmas=True), [dict(timesteps=[10, 5])], {}),
    (dict(use_lu_lambdas=True), [dict(timesteps=[10, 5])], {}),
    (dict(use_exponential_sigmas=True), [dict(timesteps=[10, 5])], {}),
    (dict(use_beta_sigmas=True), [dict(timesteps=[10, 5])], {}),
    (dict(use_flow_sigmas=True), [dict(timesteps=[10, 5])], dict(mentions=["use_flow_sigmas"])),
    (dict(use_flow_sigmas=True), [dict(num_inference_steps=5, mu=0.5)], dict(mentions=["use_dynamic_shifting"])),
    (dict(timestep_spacing="foo"), [dict(num_inference_steps=5)], {}),
    (dict(final_sigmas_type="foo"), [dict(num_inference_steps=5)], {}),
    ({}, None, dict(step_without_set_timesteps=True)),
    (dict(prediction_type="foo"), [dict(num_inference_steps=5)], {}),
    (dict(algorithm_type="dpmsolver", prediction_type="flow_prediction", **SIGMA_MIN), [dict(num_inference_steps=5)],
     {}),
    (dict(solver_order=0), [dict(num_inference_steps=5)], dict(mentions=["solver_order"])),
    (dict(algorithm_type="sde-dpmsolver", solver_order=3, **SIGMA_MIN), [dict(num_inference_steps=8)],
     dict(mentions=["third-order sde-dpmsolver"])),
    (dict(I2V, use_karras_sigmas=True), [dict(num_inference_steps=25)],
     dict(mentions=["rescale_betas_zero_snr and use_karras_sigmas", "IndexError", "index_for_timestep"])),
    (dict(I2V, use_karras_sigmas=True), [dict(num_inference_steps=5)],
     dict(mentions=["rescale_betas_zero_snr and use_karras_sigmas", "IndexError"])),
    (dict(SD, rescale_betas_zero_snr=True, use_beta_sigmas=True), [dict(num_inference_steps=10)],
     dict(mentions=["rescale_betas_zero_snr and use_beta_sigmas"])),
    # a repeated first timestep: diffusers starts at its second occurrence and overruns the sigmas on the last step;
    # Karras sigmas beyond the training range (the cosine schedule's, or SVD's 700) all map to the last timesteps
    (SD, [dict(timesteps=[700, 700, 400, 100])], dict(mentions=["index_for_timestep", "setBeginIndex"])),
    (dict(COSINE, use_karras_sigmas=True), [dict(num_inference_steps=10)], dict(mentions=["index_for_timestep"])),
    (dict(SD, use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0, prediction_type="v_prediction"),
     [dict(num_inference_steps=10)], dict(mentions=["index_for_timestep"])),
    (dict(thresholding=True), [dict(num_inference_steps=3)], dict(shape=SMALL, mentions=["thresholding"])),
]


@contextlib.contextmanager
def correctly_rounded_math():
    """torch's float32 log / exp / sqrt (and ** 0.5) replaced by float64 evaluation rounded once to float32."""
    def rounded(fn):
        return lambda t: fn(t.double()).float() if t.dtype == torch.float32 else fn(t)

    saved = dict(log=torch.log, exp=torch.exp, sqrt=torch.sqrt, tensor_sqrt=torch.Tensor.sqrt,
                 tensor_pow=torch.Tensor.__pow__)
    torch.log, torch.exp, torch.sqrt = rounded(saved["log"]), rounded(saved["exp"]), rounded(saved["sqrt"])
    torch.Tensor.sqrt = rounded(saved["sqrt"])

    def power(t, exponent):
        if isinstance(exponent, float) and exponent == 0.5 and t.dtype == torch.float32:
            return saved["sqrt"](t.double()).float()
        return saved["tensor_pow"](t, exponent)

    torch.Tensor.__pow__ = power
    try:
        yield
    finally:
        torch.log, torch.exp, torch.sqrt = saved["log"], saved["exp"], saved["sqrt"]
        torch.Tensor.sqrt, torch.Tensor.__pow__ = saved["tensor_sqrt"], saved["tensor_pow"]


def f32(value):
    """The shortest decimal of a float32, as a Python float (json writes it back as that decimal)."""
    return float(str(np.float32(value)))


def floats(tensor):
    return [f32(v) for v in torch.as_tensor(tensor, dtype=torch.float32).flatten().tolist()]


def set_timesteps_calls(spec):
    if isinstance(spec, int):
        return [dict(num_inference_steps=spec)]
    return spec if isinstance(spec, list) else [spec]


def record_run(name, config, spec, options, run_index):
    """The run as diffusers computes it, plus its correctly rounded twin where that differs."""
    run = simulate(name, config, spec, options, run_index)
    with correctly_rounded_math():
        twin = simulate(name, config, spec, options, run_index)
    for key in ("timesteps", "sigmas"):
        if twin[key] != run[key]:
            run[key + "_cr"] = twin[key]
    if "add_noise" in run and twin["add_noise"]["noisy"] != run["add_noise"]["noisy"]:
        run["add_noise"]["noisy_cr"] = twin["add_noise"]["noisy"]
    for step, twin_step in zip(run["steps"], twin["steps"]):
        if twin_step["prev_sample"] != step["prev_sample"]:
            step["prev_sample_cr"] = twin_step["prev_sample"]
    return run


def simulate(name, config, spec, options, run_index):
    scheduler = DPMSolverMultistepScheduler.from_config(config)
    calls = set_timesteps_calls(spec)
    for call in calls:
        scheduler.set_timesteps(**call)
    shape = options.get("shape", SMALL)
    model_shape = options.get("model_shape", shape)
    inputs = torch.Generator().manual_seed(1234 + run_index)
    run = dict(name=name, config=config, set_timesteps=calls, shape=shape, model_shape=model_shape,
               timesteps=[int(t) for t in scheduler.timesteps], sigmas=floats(scheduler.sigmas),
               init_noise_sigma=float(scheduler.init_noise_sigma), flow_shift=float(scheduler.config.flow_shift))
    begin = options.get("begin_index")
    if begin is not None:
        scheduler.set_begin_index(begin)
        run["begin_index"] = begin
    if options.get("add_noise_at", len(scheduler.timesteps)) < len(scheduler.timesteps):
        t = scheduler.timesteps[options["add_noise_at"]:options["add_noise_at"] + 1]
        original, noise = torch.randn(shape, generator=inputs), torch.randn(shape, generator=inputs)
        run["add_noise"] = dict(timestep=int(t[0]), original=floats(original), noise=floats(noise),
                                noisy=floats(scheduler.add_noise(original, noise, t)))
    sample = torch.randn(shape, generator=inputs)
    run["sample"] = floats(sample)
    steps = []
    for i, t in enumerate(scheduler.timesteps[begin or 0:]):
        model_output = torch.randn(model_shape, generator=inputs)
        record = dict(model_output=floats(model_output))
        kwargs = {}
        if options.get("variance_noise"):
            noise = torch.randn(shape, generator=inputs)
            record["variance_noise"] = floats(noise)
            kwargs["variance_noise"] = noise
        elif scheduler.config.algorithm_type.startswith("sde"):
            record["noise_seed"] = 5000 + 100 * run_index + i
            kwargs["generator"] = torch.Generator().manual_seed(record["noise_seed"])
        sample = scheduler.step(model_output, t, sample, **kwargs).prev_sample
        record["prev_sample"] = floats(sample)
        steps.append(record)
    run["steps"] = steps
    return run


def record_error(config, calls, options):
    error = dict(config=config, set_timesteps=calls)
    error.update({k: v for k, v in options.items() if k in ("shape", "mentions", "step_without_set_timesteps")})
    stage = "constructor"
    try:
        scheduler = DPMSolverMultistepScheduler.from_config(config)
        stage = "set_timesteps"
        for call in calls or []:
            scheduler.set_timesteps(**call)
        stage = "step"
        shape = options.get("shape", [1, 3, 2, 2])
        inputs = torch.Generator().manual_seed(99)
        sample = torch.randn(shape, generator=inputs)
        timesteps = scheduler.timesteps if calls else scheduler.timesteps[:1]
        for i, t in enumerate(timesteps):
            error["step"] = i
            model_output = torch.randn(shape, generator=inputs)
            sample = scheduler.step(model_output, t, sample, generator=torch.Generator().manual_seed(i)).prev_sample
    except Exception as e:  # noqa: BLE001 - recording whatever diffusers raises
        error.update(stage=stage, type=type(e).__name__, message=str(e))
        return error
    raise AssertionError(f"diffusers accepted {config} / {calls}")


def write(fixture, out):
    """One run or error per line: readable diffs, a small file."""
    lines = ["{"]
    for key in ("generator", "diffusers", "torch", "numpy", "scipy"):
        lines.append(f" {json.dumps(key)}: {json.dumps(fixture[key])},")
    for key in ("runs", "errors"):
        lines.append(f" {json.dumps(key)}: [")
        items = [json.dumps(item, separators=(",", ":")) for item in fixture[key]]
        lines.append(",\n".join("  " + item for item in items))
        lines.append(" ]," if key == "runs" else " ]")
    lines.append("}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "sampler/src/test/resources/scheduler-fixtures/dpmsolver.json")
    args = parser.parse_args()

    runs = []
    for name, config, specs, options in CASES:
        for spec in specs:
            runs.append(record_run(name, config, spec, options, len(runs)))
    fixture = dict(generator="conformance/tools/make_dpmsolver_fixtures.py", diffusers=diffusers.__version__,
                   torch=torch.__version__, numpy=np.__version__, scipy=scipy.__version__, runs=runs,
                   errors=[record_error(c, s, o) for c, s, o in ERRORS])
    write(fixture, args.out)
    print(f"wrote {len(runs)} runs ({sum(len(r['steps']) for r in runs)} steps) and {len(fixture['errors'])} errors"
          f" to {args.out} ({args.out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
