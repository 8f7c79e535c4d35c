#!/usr/bin/env python3
"""Records diffusers' UniPCMultistepScheduler on a grid of configurations, for the Java port's fixture test.

Developer tool (needs torch, diffusers and, for beta sigmas, scipy; runs on the CPU in seconds). For every case and
step count it writes what set_timesteps produced (sigmas, timesteps) and a whole sampling run of step() calls on
small random tensors: the first sample, then per step the model output and prev_sample, which is the next step's
sample (UniPC keeps a history, so every step of a run is recorded, in order). The model outputs are those of a
denoiser that points at a fixed random clean sample (plus a little noise), in the config's prediction type; the
"-raw" cases use plain noise instead. It also records add_noise calls, some of the small linear systems diffusers
hands to torch.linalg.solve with torch's float32 solutions, and the error messages of invalid configurations and
calls. The Java tests UniPcMultistepFixtureTest and UniPcLinearSolveTest
(sampler/src/test/java/dev/i2vgen/sampler/scheduler/) read it.

    python3 conformance/tools/make_unipc_fixtures.py \
        --out sampler/src/test/resources/scheduler-fixtures/unipc.json

Each run is also replayed, step by step from diffusers' recorded samples, with the port's rounding of the few
operations that are not plain IEEE float32 arithmetic (see port_roundings()): per step, "floor" is how far that
moved diffusers' result (relative L2) and "prev_sample_port_rounding" the replay's output where it differs;
"sigma_floor" is the largest relative change of a sigma and "timesteps_port_rounding" the replay's timesteps
where they differ. The Java test holds the port to 1e-6 of the replay and to 1e-6 + floor of diffusers.

Floats that are float32 values are written in float32's shortest repr (read back exactly as a double rounded to
float: checked on writing); NaN and Infinity appear where diffusers itself produces them (the "zero-final" cases).
"""

import argparse
import contextlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

import diffusers
from diffusers import UniPCMultistepScheduler

REPO = Path(__file__).resolve().parents[2]
I2VGEN_XL = json.loads((REPO / "sampler/src/test/resources/i2vgen-xl-scheduler_config.json").read_text())

SD = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
SVD_LIKE = dict(SD, prediction_type="v_prediction", use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0,
                timestep_spacing="leading", steps_offset=1)
FLOW = dict(use_flow_sigmas=True, prediction_type="flow_prediction")
SIGMA_MIN = dict(final_sigmas_type="sigma_min")
# lower_order_final=False keeps the full order to the end; a zero final sigma would then divide by r_k = 0
FULL_ORDER = dict(lower_order_final=False, final_sigmas_type="sigma_min")

COUNTS = [1, 2, 6, 12]
SMALL = [1, 2, 6]
SHAPE = [1, 2, 3]

# (name, constructor arguments, run options); options: counts (step counts), set (set_timesteps arguments instead
# of counts), shape, model_scale (the clean sample the model outputs point to is standard normal times this; with
# raw, the model outputs themselves are), sample_scale (of the first sample), begin_index (set_begin_index, after
# an add_noise at that index)
CASES = [
    ("defaults", {}, dict(counts=COUNTS)),
    # model outputs that are plain noise, unrelated to the sample: large x0 estimates
    ("defaults-raw", {}, dict(counts=[2, 6], raw=True)),
    ("bh1", dict(solver_type="bh1", **SIGMA_MIN), dict(counts=[2, 6, 12])),
    ("bh1-raw", dict(SD, solver_type="bh1", solver_order=3, **FULL_ORDER), dict(counts=[6], raw=True)),
    # diffusers' own result: B(h) = h is infinite onto σ = 0, and ∞·0 makes the last step NaN
    ("bh1-zero-final", dict(solver_type="bh1"), dict(counts=[1, 3])),
    ("order1-bh1-sd", dict(SD, solver_order=1, solver_type="bh1", **SIGMA_MIN), dict(counts=[2, 6])),
    ("order1-bh2-sd", dict(SD, solver_order=1), dict(counts=[2, 6])),
    ("order3-sd-leading", dict(SD, solver_order=3, timestep_spacing="leading", steps_offset=1), dict(counts=[3, 6, 12, 25])),
    ("order3-bh1-full", dict(SD, solver_order=3, solver_type="bh1", **FULL_ORDER), dict(counts=[4, 12])),
    ("order4-full", dict(solver_order=4, **FULL_ORDER), dict(counts=[8])),
    ("order5-bh1-trailing-full", dict(SD, solver_order=5, solver_type="bh1", timestep_spacing="trailing", **FULL_ORDER),
     dict(counts=[10])),
    ("order6-full", dict(SD, solver_order=6, **FULL_ORDER), dict(counts=[12])),
    ("order3-lower-final-sigma-min", dict(SD, solver_order=3, **SIGMA_MIN), dict(counts=[5])),
    ("order2-full-zero-final", dict(lower_order_final=False), dict(counts=[3])),  # ±inf at the last step
    ("epsilon-update", dict(SD, predict_x0=False, **SIGMA_MIN), dict(counts=[2, 6, 12])),
    ("epsilon-update-order3-bh1", dict(SD, predict_x0=False, solver_order=3, solver_type="bh1", **FULL_ORDER),
     dict(counts=[8])),
    ("epsilon-update-zero-final", dict(predict_x0=False), dict(counts=[2])),  # NaN at the last step
    ("epsilon-update-sample", dict(SD, predict_x0=False, prediction_type="sample", **SIGMA_MIN),
     dict(counts=[6], model_scale=0.5)),
    ("epsilon-update-v", dict(SD, predict_x0=False, prediction_type="v_prediction", **SIGMA_MIN), dict(counts=[6])),
    ("sample", dict(SD, prediction_type="sample"), dict(counts=SMALL, model_scale=0.5)),
    ("v-prediction", dict(SD, prediction_type="v_prediction"), dict(counts=SMALL)),
    ("thresholding-sample", dict(prediction_type="sample", thresholding=True, dynamic_thresholding_ratio=0.9,
                                 sample_max_value=1.5), dict(counts=[6], shape=[2, 3, 2], model_scale=3.0)),
    ("thresholding-epsilon", dict(SD, thresholding=True), dict(counts=[6], shape=[2, 2, 3])),
    ("disable-corrector", dict(SD, solver_order=3, disable_corrector=[0, 2, 3]), dict(counts=[8])),
    ("midpoint-is-bh2", dict(SD, solver_type="midpoint"), dict(counts=[6])),
    ("karras", dict(SD, use_karras_sigmas=True), dict(counts=COUNTS)),
    ("karras-range-sigma-min", dict(SD, use_karras_sigmas=True, sigma_min=0.03, sigma_max=14.0, **SIGMA_MIN),
     dict(counts=[6, 12])),
    ("exponential", dict(SD, use_exponential_sigmas=True), dict(counts=SMALL)),
    ("exponential-range", dict(SD, use_exponential_sigmas=True, sigma_min=0.05, sigma_max=20.0, solver_order=3),
     dict(counts=[6, 12])),
    ("beta", dict(use_beta_sigmas=True), dict(counts=SMALL)),
    ("beta-range-sigma-min", dict(SD, use_beta_sigmas=True, sigma_min=0.1, sigma_max=10.0, **SIGMA_MIN),
     dict(counts=[6])),
    ("flow-shift3", dict(FLOW, flow_shift=3.0), dict(counts=COUNTS)),
    ("flow-unshifted", FLOW, dict(counts=[2, 6])),
    ("flow-order3-bh1", dict(FLOW, flow_shift=5.0, solver_order=3, solver_type="bh1", **SIGMA_MIN), dict(counts=[6, 12])),
    ("flow-shift-terminal", dict(FLOW, flow_shift=2.0, shift_terminal=0.1), dict(counts=[6])),
    ("flow-shift-terminal-zero", dict(FLOW, flow_shift=2.0, shift_terminal=0.0), dict(counts=[2])),
    ("flow-dynamic-exponential", dict(FLOW, use_dynamic_shifting=True), dict(set=[dict(num_inference_steps=6, mu=0.8)])),
    ("flow-dynamic-linear", dict(FLOW, use_dynamic_shifting=True, time_shift_type="linear"),
     dict(set=[dict(num_inference_steps=6, mu=1.5)])),
    ("flow-custom-sigmas", dict(FLOW, flow_shift=3.0), dict(set=[dict(sigmas=[1.0, 0.8, 0.55, 0.3, 0.12])])),
    ("flow-karras", dict(FLOW, use_karras_sigmas=True), dict(counts=[6])),
    ("flow-karras-custom", dict(FLOW, use_karras_sigmas=True), dict(set=[dict(sigmas=[0.95, 0.7, 0.4, 0.2, 0.05])])),
    ("flow-exponential-custom", dict(FLOW, use_exponential_sigmas=True, **SIGMA_MIN),
     dict(set=[dict(sigmas=[0.95, 0.7, 0.4, 0.2, 0.05])], begin_index=0)),
    ("flow-epsilon", dict(use_flow_sigmas=True, flow_shift=3.0), dict(counts=[6])),
    ("linspace-sample-sigma-min", dict(SD, prediction_type="sample", **SIGMA_MIN), dict(counts=[6], model_scale=0.5)),
    ("trailing", dict(SD, timestep_spacing="trailing"), dict(counts=SMALL)),
    # numpy's arange(100, 0, -100/29) has 30 values: diffusers then keeps 30 timesteps and 31 sigmas
    ("trailing-arange-length", dict(num_train_timesteps=100, timestep_spacing="trailing"),
     dict(set=[dict(num_inference_steps=29)])),
    ("leading-offset", dict(timestep_spacing="leading", steps_offset=3), dict(counts=[2, 6])),
    ("zero-snr-v-trailing", dict(SD, rescale_betas_zero_snr=True, prediction_type="v_prediction",
                                 timestep_spacing="trailing"), dict(counts=[6, 12, 25])),
    ("i2vgen-xl", I2VGEN_XL, dict(counts=[6, 25])),
    ("i2vgen-xl-trailing", dict(I2VGEN_XL, timestep_spacing="trailing", solver_order=3), dict(counts=[12])),
    # sigma_max = 700 lies beyond the training sigmas: the first timesteps repeat 999
    ("svd-like", SVD_LIKE, dict(counts=[6, 12])),
    ("svd-like-begin0", SVD_LIKE, dict(counts=[12], begin_index=0)),
    ("trained-betas", dict(num_train_timesteps=50, trained_betas=[0.0005 + 0.0008 * i for i in range(50)],
                           timestep_spacing="leading"), dict(counts=[2, 6])),
    ("cosine-sample", dict(beta_schedule="squaredcos_cap_v2", prediction_type="sample", solver_order=3),
     dict(counts=[6], model_scale=0.5)),
    ("begin-index", dict(SD, solver_order=3), dict(counts=[12], begin_index=4)),
]

# (constructor arguments, set_timesteps arguments or None, steps to run) that diffusers refuses
ERRORS = [
    (dict(use_karras_sigmas=True, use_beta_sigmas=True), None, 0),
    (dict(use_exponential_sigmas=True, use_karras_sigmas=True), None, 0),
    (dict(shift_terminal=0.5), None, 0),
    ({}, dict(sigmas=[0.9, 0.5]), 0),
    (dict(FLOW, use_dynamic_shifting=True), dict(num_inference_steps=4), 0),
    ({}, None, 1),
    (dict(FLOW, predict_x0=False), dict(num_inference_steps=4), 1),
    (dict(solver_order=3, lower_order_final=False), dict(num_inference_steps=4), 4),
]

SOLVES_PER_SIZE = 10


class _NumpyWithPortLog:
    """numpy, except that np.log of float32 arrays is the correctly rounded logarithm (the port's NumpyMath)."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def log(x):
        a = np.asarray(x)
        return np.log(a.astype(np.float64)).astype(np.float32) if a.dtype == np.float32 else np.log(x)


@contextlib.contextmanager
def port_roundings():
    """diffusers with the port's rounding of the few operations that are not exact IEEE float32 arithmetic.

    torch's CPU sqrt, log and expm1 (MKL VML) are within an ulp of the exact value but not always correctly
    rounded, numpy's float32 log likewise, and torch.linspace contracts start + step*i into a fused multiply-add;
    the port rounds the three functions correctly and computes linspace as NoiseSchedule.torchLinspace does
    (two roundings). Replaying a run under these measures how far diffusers' own result moves by those last-bit
    differences: the "floor" the Java test allows on top of its 1e-6.
    """
    module = sys.modules[UniPCMultistepScheduler.__module__]
    saved = dict(linspace=torch.linspace, log=torch.log, expm1=torch.expm1, sqrt=torch.Tensor.sqrt,
                 pow=torch.Tensor.__pow__, np=module.np)

    def exact(fn):
        def apply(x):
            values = x.detach().numpy().astype(np.float64)
            return torch.from_numpy(np.asarray(fn(values)).astype(np.float32)).reshape(x.shape)
        return apply

    def linspace(start, end, steps, dtype=None, **kwargs):
        if dtype is not torch.float32 or kwargs:
            return saved["linspace"](start, end, steps, dtype=dtype, **kwargs)
        s, e = np.float32(start), np.float32(end)
        if steps == 1:
            return torch.tensor([s])
        step = np.float32((e - s) / np.float32(steps - 1))
        i = np.arange(steps)
        low = s + step * i.astype(np.float32)
        high = e - step * (steps - i - 1).astype(np.float32)
        return torch.from_numpy(np.where(i < steps // 2, low, high).astype(np.float32))

    def power(x, exponent):
        if isinstance(exponent, float) and exponent == 0.5 and x.dtype == torch.float32:
            return exact(np.sqrt)(x)
        return saved["pow"](x, exponent)

    torch.linspace, torch.log, torch.expm1 = linspace, exact(np.log), exact(np.expm1)
    torch.Tensor.sqrt, torch.Tensor.__pow__ = exact(np.sqrt), power
    module.np = _NumpyWithPortLog()
    try:
        yield
    finally:
        torch.linspace, torch.log, torch.expm1 = saved["linspace"], saved["log"], saved["expm1"]
        torch.Tensor.sqrt, torch.Tensor.__pow__ = saved["sqrt"], saved["pow"]
        module.np = saved["np"]


def floats(tensor):
    return [float(v) for v in torch.as_tensor(tensor, dtype=torch.float32).flatten().tolist()]


def build(config, set_args):
    scheduler = UniPCMultistepScheduler.from_config(config)
    if set_args is not None:
        scheduler.set_timesteps(**{k: np.array(v) if k == "sigmas" else v for k, v in set_args.items()})
    return scheduler


def denoiser_output(scheduler, t, sample, x0):
    """What a denoiser that estimates the clean sample as x0 outputs at sample, in the config's prediction type."""
    index = scheduler.step_index if scheduler.step_index is not None else (
        scheduler.begin_index if scheduler.begin_index is not None else scheduler.index_for_timestep(t))
    sigma = scheduler.sigmas[index]
    alpha_t, sigma_t = scheduler._sigma_to_alpha_sigma_t(sigma)
    if sigma_t == 0:
        return x0
    eps = (sample - alpha_t * x0) / sigma_t
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return eps
    if kind == "sample":
        return x0
    if kind == "v_prediction":
        return alpha_t * eps - sigma_t * x0
    return eps - x0  # flow_prediction


def record_run(name, config, options, set_args, run_index):
    scheduler = build(config, set_args)
    shape = options.get("shape", SHAPE)
    inputs = torch.Generator().manual_seed(4321 + run_index)
    begin = options.get("begin_index")
    sample = torch.randn(shape, generator=inputs) * options.get("sample_scale", 1.0)
    run = dict(name=name, config=config, set_timesteps=set_args, shape=shape,
               sigmas=floats(scheduler.sigmas), timesteps=[int(t) for t in scheduler.timesteps],
               init_noise_sigma=float(scheduler.init_noise_sigma))
    timesteps = scheduler.timesteps
    if begin is not None:
        scheduler.set_begin_index(begin)
        noise = torch.randn(shape, generator=inputs)
        noisy = scheduler.add_noise(sample, noise, timesteps[begin:begin + 1])
        run.update(begin_index=begin, add_noise=dict(original=floats(sample), noise=floats(noise),
                                                     timestep=int(timesteps[begin]), result=floats(noisy)))
        sample = noisy
        timesteps = timesteps[begin:]
    run["sample"] = floats(sample)
    steps = []
    clean = torch.randn(shape, generator=inputs) * options.get("model_scale", 1.0)
    for t in timesteps:
        if scheduler.step_index is not None and scheduler.step_index >= len(scheduler.timesteps):
            break  # a repeated first timestep starts diffusers at its second occurrence: one step fewer
        if options.get("raw"):
            model_output = torch.randn(shape, generator=inputs) * options.get("model_scale", 1.0)
        else:
            model_output = denoiser_output(scheduler, t, sample, clean + 0.1 * torch.randn(shape, generator=inputs))
        sample = scheduler.step(model_output, t, sample).prev_sample
        steps.append(dict(timestep=int(t), step_index=scheduler.step_index - 1, order=scheduler.this_order,
                          model_output=floats(model_output), prev_sample=floats(sample)))
    run["steps"] = steps
    replay_with_port_roundings(run, config, set_args)
    return run


def relative_difference(a, b):
    """‖a − b‖/‖b‖ over the entries finite in both (0 when there are none)."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    finite = torch.isfinite(a) & torch.isfinite(b)
    norm = torch.linalg.norm(b[finite])
    return float(torch.linalg.norm((a - b)[finite]) / norm) if norm > 0 else 0.0


def max_relative_difference(a, b):
    """max |a − b|/|b| over the entries finite and non-zero in b."""
    a, b = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
    use = np.isfinite(b) & (b != 0)
    return float(np.max(np.abs(a[use] - b[use]) / np.abs(b[use]))) if use.any() else 0.0


def replay_with_port_roundings(run, config, set_args):
    """The run again, each step from diffusers' recorded sample, under port_roundings(): records the floors."""
    with port_roundings():
        scheduler = build(config, set_args)
        shape = run["shape"]
        run["sigma_floor"] = max_relative_difference(floats(scheduler.sigmas), run["sigmas"])
        timesteps = [int(t) for t in scheduler.timesteps]
        if timesteps != run["timesteps"]:
            run["timesteps_port_rounding"] = timesteps
        sample = torch.tensor(run["add_noise"]["result"] if "add_noise" in run else run["sample"]).reshape(shape)
        if "begin_index" in run:
            scheduler.set_begin_index(run["begin_index"])
        for step in run["steps"]:
            # the timestep at diffusers' step index: the replay's own timesteps may differ in the last digit
            t = scheduler.timesteps[step["step_index"]]
            out = scheduler.step(torch.tensor(step["model_output"]).reshape(shape), t, sample).prev_sample
            expected = torch.tensor(step["prev_sample"]).reshape(shape)
            step["floor"] = relative_difference(out, expected)
            if step["floor"] > 0:
                step["prev_sample_port_rounding"] = floats(out)
            sample = expected


def record_error(config, set_args, steps):
    try:
        scheduler = build(config, set_args)
        for i in range(steps):
            t = scheduler.timesteps[i] if scheduler.num_inference_steps is not None else 999
            scheduler.step(torch.zeros(SHAPE) + 0.1 * i, t, torch.ones(SHAPE))
    except (ValueError, RuntimeError) as e:
        return dict(config=config, set_timesteps=set_args, steps=steps, message=str(e))
    raise AssertionError(f"diffusers accepted {config} / {set_args} / {steps} steps")


def record_add_noise():
    """add_noise before set_timesteps (training use: diffusers' sigmas ascend there while its timesteps descend)."""
    g = torch.Generator().manual_seed(99)
    out = []
    for config, set_args, t in [({}, None, 10), (SD, dict(num_inference_steps=10), 999),
                                (dict(FLOW, flow_shift=3.0), dict(num_inference_steps=6), 666)]:
        scheduler = build(config, set_args)
        original, noise = torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)
        result = scheduler.add_noise(original, noise, torch.tensor([t]))
        out.append(dict(config=config, set_timesteps=set_args, timestep=t, original=floats(original),
                        noise=floats(noise), result=floats(result)))
    return out


class SolveRecorder:
    """Wraps torch.linalg.solve to keep a few finite (A, b, x) triples of each size."""

    def __init__(self):
        self.by_size = {}
        self.original = torch.linalg.solve

    def __call__(self, a, b, *args, **kwargs):
        x = self.original(a, b, *args, **kwargs)
        if torch.isfinite(a).all() and torch.isfinite(x).all():
            kept = self.by_size.setdefault(a.shape[0], [])
            if len(kept) < SOLVES_PER_SIZE * 4:
                kept.append(dict(a=[floats(row) for row in a], b=floats(b), x=floats(x)))
        return x

    def solves(self):
        out = []
        for size in sorted(self.by_size):
            kept = self.by_size[size]
            out += kept[:: max(1, len(kept) // SOLVES_PER_SIZE)][:SOLVES_PER_SIZE]
        return out


def number(v):
    """A float as JSON: float32 values in float32's shortest repr (parsed as a double and rounded to float, as the
    Java test reads it, it gives the value back: checked here), others in full."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    if float(np.float32(v)) == v:
        text = str(np.float32(v))
        if float(np.float32(float(text))) == v:
            return text
    return repr(v)


def to_json(obj):
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + to_json(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in obj) + "]"
    if isinstance(obj, float):
        return number(obj)
    return json.dumps(obj)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("sampler/src/test/resources/scheduler-fixtures/unipc.json"))
    args = parser.parse_args()

    recorder = SolveRecorder()
    torch.linalg.solve = recorder
    runs = []
    try:
        for name, config, options in CASES:
            calls = options.get("set") or [dict(num_inference_steps=n) for n in options["counts"]]
            for set_args in calls:
                runs.append(record_run(name, config, options, set_args, len(runs)))
    finally:
        torch.linalg.solve = recorder.original
    fixture = dict(generator="conformance/tools/make_unipc_fixtures.py", diffusers=diffusers.__version__,
                   torch=torch.__version__, numpy=np.__version__, runs=runs, add_noise=record_add_noise(),
                   solves=recorder.solves(), errors=[record_error(c, s, n) for c, s, n in ERRORS])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # one run per line keeps the file small and its diffs readable
    text = "{\n" + ",\n".join(
        f"{json.dumps(k)}: " + ("[\n" + ",\n".join(to_json(v) for v in value) + "\n]"
                                if isinstance(value, list) else to_json(value))
        for k, value in fixture.items()) + "\n}\n"
    args.out.write_text(text)
    print(f"wrote {len(runs)} runs, {len(fixture['solves'])} solves, {len(fixture['errors'])} errors to {args.out}"
          f" ({len(text) // 1024} KiB)")


if __name__ == "__main__":
    main()
