#!/usr/bin/env python3
"""Records diffusers' EulerDiscreteScheduler on a grid of configurations, for the Java port's fixture test.

Developer tool (needs torch and diffusers; runs on the CPU in a few seconds). For every case of the grid and every
step count it writes what set_timesteps produced (sigmas, timesteps, init_noise_sigma) and, for the first steps, the
inputs and outputs of scale_model_input and step() on small random tensors, plus the error messages of invalid calls.
The Java test sampler/src/test/java/dev/i2vgen/sampler/scheduler/EulerDiscreteSchedulerFixtureTest.java reads it.

    python3 conformance/tools/make_scheduler_fixtures.py \
        --out sampler/src/test/resources/scheduler-fixtures/euler.json

Every float is a float32 value written as a JSON number (exact: Python prints the shortest round-trip repr).
Churn noise comes from torch.Generator().manual_seed(noise_seed) passed to step(); the Java test redraws it.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

import diffusers
from diffusers import EulerDiscreteScheduler

SD = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
SVD = dict(SD, prediction_type="v_prediction", use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0,
           timestep_spacing="leading", steps_offset=1, timestep_type="continuous")

# step() arguments; "shape" is the shape of the random test tensors (16+ values exercise torch's vectorised randn)
NO_CHURN = dict(shape=[2, 3])
CHURN = dict(shape=[2, 3], s_churn=1.0)
CHURN_WINDOW = dict(shape=[4, 5], s_churn=40.0, s_tmin=0.5, s_tmax=5.0, s_noise=1.003)

STEP_COUNTS = [1, 2, 7, 25]
RECORDED_STEPS = 3

# (name, constructor arguments, step() arguments, set_timesteps arguments; None = each of STEP_COUNTS)
CASES = [
    ("defaults", {}, NO_CHURN, None),
    ("sd-leading-offset", dict(SD, timestep_spacing="leading", steps_offset=1), NO_CHURN, None),
    ("sd-trailing-v", dict(SD, timestep_spacing="trailing", prediction_type="v_prediction"), CHURN, None),
    ("cosine-sample", dict(beta_schedule="squaredcos_cap_v2", prediction_type="sample"), NO_CHURN, None),
    ("cosine-original-sample", dict(beta_schedule="squaredcos_cap_v2", prediction_type="original_sample",
                                    timestep_spacing="trailing"), CHURN, None),
    ("trained-betas", dict(num_train_timesteps=50, trained_betas=[0.0005 + 0.0008 * i for i in range(50)],
                           timestep_spacing="leading"), NO_CHURN, None),
    ("small-train-leading", dict(num_train_timesteps=100, timestep_spacing="leading", steps_offset=2), NO_CHURN, None),
    ("zero-snr-trailing-v", dict(SD, rescale_betas_zero_snr=True, timestep_spacing="trailing",
                                 prediction_type="v_prediction"), NO_CHURN, None),
    ("zero-snr-karras", dict(SD, rescale_betas_zero_snr=True, use_karras_sigmas=True, timestep_spacing="leading"),
     CHURN, None),
    ("log-linear", dict(SD, interpolation_type="log_linear"), NO_CHURN, None),
    ("log-linear-karras", dict(SD, interpolation_type="log_linear", use_karras_sigmas=True), NO_CHURN, None),
    ("karras", dict(SD, use_karras_sigmas=True), CHURN_WINDOW, None),
    ("karras-range-trailing", dict(SD, use_karras_sigmas=True, sigma_min=0.03, sigma_max=14.0,
                                   timestep_spacing="trailing"), NO_CHURN, None),
    ("svd", SVD, NO_CHURN, None),
    ("svd-churn", SVD, CHURN_WINDOW, None),
    ("exponential", dict(SD, use_exponential_sigmas=True), NO_CHURN, None),
    ("exponential-range-continuous-v", dict(SVD, use_karras_sigmas=False, use_exponential_sigmas=True,
                                            sigma_max=80.0), CHURN, None),
    ("beta", dict(use_beta_sigmas=True), NO_CHURN, None),
    ("beta-range-continuous-v", dict(SVD, use_karras_sigmas=False, use_beta_sigmas=True, sigma_max=80.0),
     NO_CHURN, None),
    ("final-sigma-min", dict(SD, final_sigmas_type="sigma_min"), NO_CHURN, None),
    ("final-sigma-min-karras-sample", dict(SD, final_sigmas_type="sigma_min", use_karras_sigmas=True,
                                           prediction_type="sample"), NO_CHURN, None),
    ("continuous-epsilon", dict(SD, timestep_type="continuous", timestep_spacing="trailing"), NO_CHURN, None),
    # numpy's arange(100, 0, -100/29) has 30 values: diffusers then keeps 30 timesteps and 31 sigmas
    ("trailing-arange-length", dict(num_train_timesteps=100, timestep_spacing="trailing"), NO_CHURN,
     dict(num_inference_steps=29)),
    ("custom-sigmas", SD, CHURN, dict(sigmas=[14.6, 9.0, 3.3, 1.0, 0.2, 0.03, 0.0])),
    ("custom-sigmas-svd", SVD, NO_CHURN, dict(sigmas=[700.0, 80.0, 7.5, 1.0, 0.25, 0.002, 0.0])),
    # a repeated first timestep makes diffusers start at the second index (index_for_timestep)
    ("custom-timesteps", dict(SD, prediction_type="v_prediction"), NO_CHURN,
     dict(timesteps=[999, 999, 600, 250.5, 31])),
]

# (constructor arguments, set_timesteps arguments or None) whose call diffusers refuses
ERRORS = [
    (dict(use_karras_sigmas=True, use_beta_sigmas=True), None),
    ({}, dict(timesteps=[10, 5], sigmas=[1.0, 0.0])),
    ({}, dict()),
    ({}, dict(num_inference_steps=3, sigmas=[1.0, 0.0])),
    (dict(use_karras_sigmas=True), dict(timesteps=[10, 5])),
    (dict(use_exponential_sigmas=True), dict(timesteps=[10, 5])),
    (dict(use_beta_sigmas=True), dict(timesteps=[10, 5])),
    (dict(timestep_type="continuous", prediction_type="v_prediction"), dict(timesteps=[10, 5])),
]


def floats(tensor):
    return [float(v) for v in torch.as_tensor(tensor, dtype=torch.float32).flatten().tolist()]


def record_run(name, config, step_args, set_args, run_index):
    scheduler = EulerDiscreteScheduler(**config)
    scheduler.set_timesteps(**set_args)
    shape = step_args["shape"]
    churn = {k: v for k, v in step_args.items() if k != "shape"}
    inputs = torch.Generator().manual_seed(1234 + run_index)
    steps = []
    for i, t in enumerate(scheduler.timesteps[:RECORDED_STEPS]):
        sample = torch.randn(shape, generator=inputs) * 3.0
        model_output = torch.randn(shape, generator=inputs)
        scaled = scheduler.scale_model_input(sample, t)
        step_index = scheduler.step_index
        noise_seed = 5000 + 10 * run_index + i
        out = scheduler.step(model_output, t, sample, generator=torch.Generator().manual_seed(noise_seed), **churn)
        steps.append(dict(timestep=float(t), step_index=step_index, sample=floats(sample),
                          model_output=floats(model_output), noise_seed=noise_seed, scaled_sample=floats(scaled),
                          prev_sample=floats(out.prev_sample), pred_original_sample=floats(out.pred_original_sample)))
    return dict(name=name, config=config, set_timesteps=set_args, churn=churn, shape=shape,
                sigmas=floats(scheduler.sigmas), timesteps=floats(scheduler.timesteps),
                init_noise_sigma=float(scheduler.init_noise_sigma), steps=steps)


def record_error(config, set_args):
    try:
        scheduler = EulerDiscreteScheduler(**config)
        if set_args is not None:
            scheduler.set_timesteps(**set_args)
    except ValueError as e:
        return dict(config=config, set_timesteps=set_args, message=str(e))
    raise AssertionError(f"diffusers accepted {config} / {set_args}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("sampler/src/test/resources/scheduler-fixtures/euler.json"))
    args = parser.parse_args()

    runs = []
    for name, config, step_args, set_args in CASES:
        for set_call in ([dict(num_inference_steps=n) for n in STEP_COUNTS] if set_args is None else [set_args]):
            runs.append(record_run(name, config, step_args, set_call, len(runs)))
    fixture = dict(generator="conformance/tools/make_scheduler_fixtures.py", diffusers=diffusers.__version__,
                   torch=torch.__version__, numpy=np.__version__, runs=runs,
                   errors=[record_error(c, s) for c, s in ERRORS])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {len(runs)} runs and {len(fixture['errors'])} errors to {args.out}")


if __name__ == "__main__":
    main()
