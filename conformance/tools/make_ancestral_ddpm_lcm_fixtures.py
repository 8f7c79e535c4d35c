#!/usr/bin/env python3
"""Records diffusers' EulerAncestralDiscreteScheduler, DDPMScheduler and LCMScheduler on grids of configurations, for
the Java ports' fixture tests.

Developer tool (needs torch and diffusers; runs on the CPU in a few seconds). For every case and step count it writes
what set_timesteps produced (timesteps, sigmas, init_noise_sigma, a few alphas_cumprod values) and, for the first
three steps and the last one, the inputs and outputs of scale_model_input and step() on small random tensors, plus the
messages of the calls diffusers refuses. Every step of a run is taken in order, as a pipeline does, so that the
step-index bookkeeping of the stateful schedulers is diffusers' own; unrecorded steps get zero inputs.

    python3 conformance/tools/make_ancestral_ddpm_lcm_fixtures.py \
        --out-dir sampler/src/test/resources/scheduler-fixtures

writes euler-ancestral.json, ddpm.json and lcm.json there, read by EulerAncestralDiscreteSchedulerFixtureTest,
DdpmSchedulerFixtureTest and LcmSchedulerFixtureTest (sampler/src/test/java/dev/i2vgen/sampler/scheduler/).

Configs go through from_config, so extra keys (such as the I2VGen-XL DDIM config's) are ignored as in a pipeline.
Floats are float32 values written as JSON numbers (exact: Python prints the shortest round-trip repr), NaN as NaN.
Step noise comes from torch.Generator().manual_seed(noise_seed) passed to step(); the Java tests redraw it.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import diffusers
from diffusers import DDPMScheduler, EulerAncestralDiscreteScheduler, LCMScheduler

I2VGEN_XL = json.loads(Path("sampler/src/test/resources/i2vgen-xl-scheduler_config.json").read_text())
SD = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
TRAINED_50 = dict(num_train_timesteps=50, trained_betas=[0.0005 + 0.0008 * i for i in range(50)])
RECORDED_FIRST = 3
PROBE_TIMESTEPS = [0, 1, 250, 500, 998, 999]

# (name, config, sample shape, set_timesteps calls); a None call leaves the constructor's schedule
ANCESTRAL_STEPS = [1, 2, 7, 25]
ANCESTRAL = [
    ("defaults", {}, [2, 3], None),
    ("sd-leading-offset", dict(SD, timestep_spacing="leading", steps_offset=1), [2, 3], None),
    ("sd-trailing-v", dict(SD, timestep_spacing="trailing", prediction_type="v_prediction"), [4, 5], None),
    ("cosine", dict(beta_schedule="squaredcos_cap_v2"), [4, 5], None),
    ("trained-betas-leading", dict(TRAINED_50, timestep_spacing="leading"), [2, 3], None),
    ("small-train-leading", dict(num_train_timesteps=100, timestep_spacing="leading", steps_offset=2), [2, 3], None),
    ("zero-snr-trailing-v", dict(SD, rescale_betas_zero_snr=True, timestep_spacing="trailing",
                                 prediction_type="v_prediction"), [2, 3], None),
    ("i2vgen-xl", I2VGEN_XL, [2, 4, 2], None),
    # numpy's arange(100, 0, -100/29) has 30 values: 30 timesteps and 31 sigmas
    ("trailing-arange-length", dict(num_train_timesteps=100, timestep_spacing="trailing"), [2, 3],
     [dict(num_inference_steps=29)]),
    ("untouched-schedule", dict(num_train_timesteps=20), [2, 3], [None]),
]

DDPM_STEPS = [1, 2, 7, 25]
DDPM = [
    ("defaults", {}, [2, 3], None),
    ("sd-leading-offset", dict(SD, clip_sample=False, steps_offset=1), [2, 3], None),
    ("i2vgen-xl", I2VGEN_XL, [2, 4, 2], None),
    ("linspace-v", dict(timestep_spacing="linspace", prediction_type="v_prediction", clip_sample=False), [2, 3], None),
    ("trailing-sample-clip-range", dict(timestep_spacing="trailing", prediction_type="sample", clip_sample_range=0.5),
     [4, 5], None),
    ("fixed-small-log", dict(SD, variance_type="fixed_small_log", clip_sample=False), [4, 5], None),
    ("fixed-large", dict(variance_type="fixed_large"), [2, 3], None),
    # diffusers takes the square root of log β: NaN noise on every step with t > 0
    ("fixed-large-log", dict(variance_type="fixed_large_log"), [2, 3], [dict(num_inference_steps=4)]),
    ("learned", dict(variance_type="learned", clip_sample=False), [1, 4, 2, 2], None),
    ("learned-range", dict(variance_type="learned_range"), [2, 2, 3], None),
    ("learned-unsplit-last-step", dict(variance_type="learned_range"), [2, 3], [dict(num_inference_steps=1)]),
    ("thresholding", dict(thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=2.0,
                          prediction_type="sample"), [2, 4, 2, 2], None),
    ("cosine-trailing", dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing"), [2, 3], None),
    ("sigmoid", dict(beta_schedule="sigmoid", clip_sample=False), [4, 5], None),
    ("laplace", dict(beta_schedule="laplace", clip_sample=False), [2, 3], None),
    ("trained-betas", dict(TRAINED_50, timestep_spacing="linspace"), [2, 3], None),
    ("zero-snr-trailing-v", dict(SD, rescale_betas_zero_snr=True, timestep_spacing="trailing",
                                 prediction_type="v_prediction", clip_sample=False), [2, 3], None),
    ("trailing-arange-length", dict(num_train_timesteps=100, timestep_spacing="trailing"), [2, 3],
     [dict(num_inference_steps=29)]),
    ("custom-timesteps", dict(SD, clip_sample=False), [2, 3], [dict(timesteps=[999, 800, 501, 250, 37, 5])]),
    ("custom-timesteps-to-zero", dict(prediction_type="v_prediction"), [2, 3], [dict(timesteps=[700, 300, 0])]),
    ("untouched-schedule", dict(num_train_timesteps=20, variance_type="fixed_large"), [2, 3], [None]),
]

LCM_STEPS = [1, 2, 4, 7]
LCM = [
    ("defaults", {}, [2, 3], None),
    ("defaults-vector-noise", {}, [4, 5], [dict(num_inference_steps=6)]),
    ("original-steps-override", {}, [2, 3], [dict(num_inference_steps=6, original_inference_steps=100)]),
    ("original-steps-config", dict(original_inference_steps=25, timestep_scaling=1.0), [2, 3], None),
    ("strength", {}, [2, 3], [dict(num_inference_steps=4, strength=0.5), dict(num_inference_steps=3, strength=0.3)]),
    ("v-prediction-zero-snr", dict(prediction_type="v_prediction", rescale_betas_zero_snr=True), [2, 3], None),
    ("sample-clip", dict(prediction_type="sample", clip_sample=True, clip_sample_range=0.8), [2, 3], None),
    ("thresholding", dict(thresholding=True, dynamic_thresholding_ratio=0.9, sample_max_value=2.0), [2, 4, 2, 2], None),
    ("linear-no-alpha-one", dict(beta_schedule="linear", beta_start=0.0001, beta_end=0.02, set_alpha_to_one=False,
                                 timestep_scaling=100.0), [2, 3], None),
    ("cosine", dict(beta_schedule="squaredcos_cap_v2"), [2, 3], None),
    ("trained-betas", dict(TRAINED_50, original_inference_steps=10), [2, 3], None),
    ("small-train", dict(num_train_timesteps=100, original_inference_steps=30), [2, 3], None),
    ("i2vgen-xl", I2VGEN_XL, [2, 4, 2], None),
    ("custom-timesteps", {}, [2, 3], [dict(timesteps=[999, 759, 499, 259]), dict(timesteps=[800, 400, 3])]),
    # strength cuts the custom schedule but keeps num_inference_steps: noise on every step, the last one keeps ᾱ_t
    ("custom-timesteps-strength", {}, [2, 3], [dict(timesteps=[999, 759, 499, 259], strength=0.5)]),
]

# (config, set_timesteps arguments or None for the constructor's schedule, whether the error comes from step())
ANCESTRAL_ERRORS = [
    (dict(prediction_type="sample"), dict(num_inference_steps=3), True),
]
DDPM_ERRORS = [
    ({}, dict(num_inference_steps=1001), False),
    ({}, dict(num_inference_steps=3, timesteps=[10, 5]), False),
    ({}, dict(timesteps=[10, 10, 5]), False),
    ({}, dict(timesteps=[10, 12]), False),
    ({}, dict(timesteps=[1000, 5]), False),
]
LCM_ERRORS = [
    ({}, dict(), False),
    ({}, dict(num_inference_steps=3, timesteps=[999, 499]), False),
    ({}, dict(num_inference_steps=3, original_inference_steps=1001), False),
    ({}, dict(num_inference_steps=1001), False),
    ({}, dict(timesteps=[999, 999, 499]), False),
    ({}, dict(timesteps=[1000, 499]), False),
    ({}, dict(num_inference_steps=30, strength=0.5), False),
    ({}, dict(num_inference_steps=3, strength=0.05), False),
    (dict(original_inference_steps=10), dict(num_inference_steps=15, strength=2.0), False),
    ({}, None, True),
]


def floats(tensor):
    return [float(v) for v in torch.as_tensor(tensor, dtype=torch.float32).flatten().tolist()]


def model_shape(cls, config, shape):
    """The model output's shape: twice the channels for DDPM's learned variances (diffusers splits them off)."""
    learned = cls is DDPMScheduler and config.get("variance_type") in ("learned", "learned_range")
    return [shape[0], 2 * shape[1], *shape[2:]] if learned and len(shape) > 2 else shape


def model_output_for(cls, config, shape, inputs):
    out = torch.randn(model_shape(cls, config, shape), generator=inputs)
    if config.get("variance_type") == "learned" and out.shape[1] != shape[1]:
        # "learned" takes the second half as the variance itself: keep it positive
        out[:, shape[1]:] = torch.rand(out[:, shape[1]:].shape, generator=inputs) * 0.02
    return out


def record_run(cls, name, config, shape, set_args, run_index):
    scheduler = cls.from_config(config)
    if set_args is not None:
        scheduler.set_timesteps(**set_args)
    inputs = torch.Generator().manual_seed(1234 + run_index)
    n = len(scheduler.timesteps)
    recorded = sorted(set(range(min(RECORDED_FIRST, n))) | {n - 1})
    if set_args is None:
        recorded = list(range(min(RECORDED_FIRST, n)))  # the untouched 1000-step schedule: first steps only
    steps = []
    for i, t in enumerate(scheduler.timesteps[: max(recorded) + 1]):
        noise_seed = 5000 + 100 * run_index + i
        if i not in recorded:
            zeros = torch.zeros(shape)
            scheduler.scale_model_input(zeros, t)
            scheduler.step(torch.zeros(model_shape(cls, config, shape)), t, zeros,
                           generator=torch.Generator().manual_seed(noise_seed))
            continue
        sample = torch.randn(shape, generator=inputs) * 3.0
        model_output = model_output_for(cls, config, shape, inputs)
        scaled = scheduler.scale_model_input(sample, t)
        out = scheduler.step(model_output, t, sample, generator=torch.Generator().manual_seed(noise_seed))
        x0 = out.denoised if cls is LCMScheduler else out.pred_original_sample
        steps.append(dict(index=i, timestep=float(t), sample=floats(sample), model_output=floats(model_output),
                          noise_seed=noise_seed, scaled_sample=floats(scaled), prev_sample=floats(out.prev_sample),
                          x0=floats(x0), step_index_after=getattr(scheduler, "step_index", None)))
    run = dict(name=name, config=config, set_timesteps=set_args, shape=shape,
               model_shape=model_shape(cls, config, shape), timesteps=floats(scheduler.timesteps),
               init_noise_sigma=float(scheduler.init_noise_sigma),
               alphas_cumprod={str(t): float(scheduler.alphas_cumprod[t]) for t in PROBE_TIMESTEPS
                               if t < len(scheduler.alphas_cumprod)},
               steps=steps)
    if hasattr(scheduler, "sigmas"):
        run["sigmas"] = floats(scheduler.sigmas)
    if cls is LCMScheduler:
        run["num_inference_steps"] = scheduler.num_inference_steps
    return run


def record_error(cls, config, set_args, at_step):
    try:
        scheduler = cls.from_config(config)
        if set_args is not None:
            scheduler.set_timesteps(**set_args)
        if at_step:
            t = scheduler.timesteps[0]
            scheduler.step(torch.zeros(2, 3), t, torch.zeros(2, 3), generator=torch.Generator().manual_seed(0))
    except (ValueError, NotImplementedError) as e:
        return dict(config=config, set_timesteps=set_args, step=at_step, message=str(e))
    raise AssertionError(f"diffusers accepted {config} / {set_args}")


def record(cls, cases, step_counts, errors):
    runs = []
    for name, config, shape, calls in cases:
        for call in ([dict(num_inference_steps=n) for n in step_counts] if calls is None else calls):
            runs.append(record_run(cls, name, config, shape, call, len(runs)))
    return dict(generator="conformance/tools/make_ancestral_ddpm_lcm_fixtures.py", scheduler=cls.__name__,
                diffusers=diffusers.__version__, torch=torch.__version__, numpy=np.__version__, runs=runs,
                errors=[record_error(cls, c, s, at_step) for c, s, at_step in errors])


def dump(fixture):
    """JSON with one line per run, per step and per error (the files stay small and diffable)."""
    def line(value):
        return json.dumps(value, separators=(",", ":"))

    def run_lines(run):
        head = line({k: v for k, v in run.items() if k != "steps"})[:-1]
        return head + ',"steps":[\n' + ",\n".join("   " + line(s) for s in run["steps"]) + "]}"

    header = [f' "{k}": {line(v)},' for k, v in fixture.items() if k not in ("runs", "errors")]
    runs = ",\n".join("  " + run_lines(r) for r in fixture["runs"])
    errors = ",\n".join("  " + line(e) for e in fixture["errors"])
    return "{\n" + "\n".join(header) + '\n "runs": [\n' + runs + '\n ],\n "errors": [\n' + errors + "\n ]\n}\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", type=Path, default=Path("sampler/src/test/resources/scheduler-fixtures"))
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for file, cls, cases, counts, errors in [
        ("euler-ancestral.json", EulerAncestralDiscreteScheduler, ANCESTRAL, ANCESTRAL_STEPS, ANCESTRAL_ERRORS),
        ("ddpm.json", DDPMScheduler, DDPM, DDPM_STEPS, DDPM_ERRORS),
        ("lcm.json", LCMScheduler, LCM, LCM_STEPS, LCM_ERRORS),
    ]:
        fixture = record(cls, cases, counts, errors)
        out = args.out_dir / file
        out.write_text(dump(fixture))
        print(f"wrote {len(fixture['runs'])} runs and {len(fixture['errors'])} errors to {out}"
              f" ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
