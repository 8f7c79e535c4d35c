#!/usr/bin/env python3
"""Reference implementation of I4VGen on I2VGen-XL, recording every intermediate as a conformance case.

I4VGen ("Image as Free Stepping Stone for Text-to-Video Generation", Guo et al. 2024) on diffusers' I2VGen-XL
components, written from the algorithm of issue #13 (no public I2V implementation exists); the user's image is the
anchor image. A developer tool for people with PyTorch, diffusers and transformers; the Java product never runs it.

  1. conditioning exactly as I2VGenXLPipeline.__call__ (its own methods), the generator consumed in its order: the VAE
     posterior sample first;
  2. eps* = what the pipeline draws as its initial latents (prepare_latents: randn x init_noise_sigma), kept fixed;
  3. the static video z = image_latents[0, :, 0] repeated over the frames;
  4. NI-VSDS over the first tau = int(S p_ni) + 1 DDIM timesteps: z_t = add_noise(z, eps*, t); v = CFG of one
     batched UNet call; eps_hat = sqrt(a_t) v + sqrt(1 - a_t) z_t; z = z - lambda_i (1 - a_t) (eps_hat - eps*);
  5. regeneration: start = S - int(S p_re); eps' = randn of the latent shape; x = add_noise(z, eps', t[start]); the
     pipeline's denoising loop (CFG, DDIM with eta and the generator) over timesteps[start:]; decode, post-process.

Writes a case folder like make_reference_case.py (case.json, input.png, tensors.safetensors; the checkpoint is
referenced, not copied). Example:

    python3 conformance/tools/make_i4vgen_reference_case.py --out /tmp/tiny-i4vgen \\
        --checkpoint conformance/cases/tiny/checkpoint --image conformance/cases/tiny/input.png --steps 5
"""

import argparse
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from safetensors.torch import save_file

import diffusers
from diffusers import I2VGenXLPipeline
from diffusers.utils.torch_utils import randn_tensor
from diffusers.pipelines.deprecated.i2vgen_xl.pipeline_i2vgen_xl import _center_crop_wide, _resize_bilinear


def record(tensors, name, value):
    if name in tensors:
        raise RuntimeError(f"{name} recorded twice")
    tensors[name] = torch.as_tensor(value).detach().to("cpu", torch.float32).contiguous().clone()


def step_size(sizes, i):
    return sizes[min(i, len(sizes) - 1)]


@torch.no_grad()
def run(args):
    pipe = I2VGenXLPipeline.from_pretrained(str(args.checkpoint), torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    if not hasattr(pipe.text_encoder, "text_model"):
        # transformers 5 removed CLIPTextModel.text_model, which diffusers' encode_prompt still reads for clip_skip
        pipe.text_encoder.text_model = types.SimpleNamespace(final_layer_norm=pipe.text_encoder.final_layer_norm)
    image = PIL.Image.open(args.image).convert("RGB")
    rec = {}
    cfg = args.guidance > 1.0
    pipe._guidance_scale = args.guidance
    height, width, frames, steps = args.height, args.width, args.num_frames, args.steps
    generator = torch.manual_seed(args.seed)   # the default generator: the VAE sample draws from it too

    # 1. conditioning, as __call__ steps 3.1 to 3.3
    prompt_embeds, negative_prompt_embeds = pipe.encode_prompt(args.prompt, "cpu", 1, args.negative_prompt, clip_skip=1)
    record(rec, "prompt_embeds", prompt_embeds)
    if cfg:
        prompt_embeds = torch.cat([negative_prompt_embeds, prompt_embeds])
    cropped = _resize_bilinear(_center_crop_wide(image, (width, width)),
                               (pipe.feature_extractor.crop_size["width"], pipe.feature_extractor.crop_size["height"]))
    image_embeddings = pipe._encode_image(cropped, "cpu", 1)
    record(rec, "image_embeddings", image_embeddings)
    pixels = pipe.video_processor.preprocess(_center_crop_wide(image, (width, height))).to(dtype=image_embeddings.dtype)
    image_latents = pipe.prepare_image_latents(pixels, device="cpu", num_frames=frames, num_videos_per_prompt=1)
    record(rec, "image_latents", image_latents)
    fps = torch.tensor([args.fps, args.fps] if cfg else [args.fps])
    pipe.scheduler.set_timesteps(steps)
    timesteps = pipe.scheduler.timesteps
    record(rec, "timesteps", timesteps)
    alphas = pipe.scheduler.alphas_cumprod

    def guided(latents, t):
        out = pipe.unet(torch.cat([latents] * 2) if cfg else latents, t, encoder_hidden_states=prompt_embeds, fps=fps,
                        image_latents=image_latents, image_embeddings=image_embeddings, return_dict=False)[0]
        if cfg:
            uncond, text = out.chunk(2)
            out = uncond + args.guidance * (text - uncond)
        return out

    # 2. eps*: the initial latents the pipeline would draw
    eps_star = pipe.prepare_latents(1, pipe.unet.config.in_channels, frames, height, width, prompt_embeds.dtype, "cpu",
                                    generator, None)
    record(rec, "i4vgen.eps_star", eps_star)

    # 3. the static video
    z = image_latents[0:1, :, 0:1].repeat(1, 1, frames, 1, 1)
    record(rec, "i4vgen.static_video", z)

    # 4. NI-VSDS
    tau = min(int(steps * args.ni_vsds_fraction) + 1, steps)
    for i in range(tau):
        t = timesteps[i]
        a = alphas[t]
        z_t = pipe.scheduler.add_noise(z, eps_star, t)
        v = guided(z_t, t)
        eps_hat = a ** 0.5 * v + (1 - a) ** 0.5 * z_t
        z = z - step_size(args.step_sizes, i) * (1 - a) * (eps_hat - eps_star)
        record(rec, f"i4vgen.ni_vsds.{i}.z_t", z_t)
        record(rec, f"i4vgen.ni_vsds.{i}.model_output", v)
        record(rec, f"i4vgen.ni_vsds.{i}.z", z)
    record(rec, "i4vgen.ni_vsds.result", z)
    video = pipe.video_processor.postprocess_video(pipe.decode_latents(z, decode_chunk_size=args.decode_chunk_size),
                                                   output_type="np")
    record(rec, "i4vgen.ni_vsds.frames_float", np.asarray(video, dtype=np.float32))

    # 5. regeneration
    init = int(steps * args.regeneration_strength)
    start = steps - init
    noise = randn_tensor(z.shape, generator=generator, dtype=z.dtype)
    record(rec, "i4vgen.regeneration.noise", noise)
    latents = pipe.scheduler.add_noise(z, noise, timesteps[start:start + 1])
    record(rec, "i4vgen.regeneration.latents", latents)
    extra = pipe.prepare_extra_step_kwargs(generator, args.eta)
    b, c, f, h, w = latents.shape
    for i in range(start, steps):
        t = timesteps[i]
        noise_pred = guided(latents, t)
        sample = latents.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        model_output = noise_pred.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        prev = pipe.scheduler.step(model_output, t, sample, **extra).prev_sample
        record(rec, f"step.{i}.model_output", model_output)
        record(rec, f"step.{i}.sample", sample)
        record(rec, f"step.{i}.prev_sample", prev)
        latents = prev[None, :].reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)
    record(rec, "decode.latents", latents)
    video = pipe.video_processor.postprocess_video(pipe.decode_latents(latents, decode_chunk_size=args.decode_chunk_size),
                                                   output_type="np")
    frames_float = np.asarray(video, dtype=np.float32)
    record(rec, "frames_float", frames_float)
    record(rec, "frames_uint8", (frames_float * 255).round().astype(np.uint8))
    return rec, image, tau, start


def main(argv=None):
    p = argparse.ArgumentParser(description="Record an I4VGen-on-I2VGen-XL reference case (CPU, float32).")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--image", required=True, type=Path)
    p.add_argument("--prompt", default="A red fox jumps over a frozen lake at dawn, cinematic")
    p.add_argument("--negative-prompt", default="Distorted, discontinuous, ugly, blurry, low resolution, motionless, static")
    p.add_argument("--height", type=int, default=32)
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--num-frames", type=int, default=4)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--guidance", type=float, default=9.0)
    p.add_argument("--fps", type=int, default=16)
    p.add_argument("--eta", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=8888)
    p.add_argument("--decode-chunk-size", type=int, default=1)
    p.add_argument("--ni-vsds-fraction", type=float, default=0.6)
    p.add_argument("--step-sizes", type=lambda s: [float(x) for x in s.split(",")], default=[1.0])
    p.add_argument("--regeneration-strength", type=float, default=0.8)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rec, image, tau, start = run(args)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    image.save(out / "input.png", format="PNG")
    save_file(dict(sorted(rec.items())), str(out / "tensors.safetensors"))
    case = {
        "height": args.height, "width": args.width, "num_frames": args.num_frames, "steps": args.steps,
        "guidance": args.guidance, "fps": args.fps, "eta": args.eta, "seed": args.seed,
        "decode_chunk_size": args.decode_chunk_size, "prompt": args.prompt, "negative_prompt": args.negative_prompt,
        "input_image": "input.png", "checkpoint": os.path.relpath(args.checkpoint.resolve(), out.resolve()),
        "i4vgen": {"ni_vsds_fraction": args.ni_vsds_fraction, "step_sizes": args.step_sizes,
                   "regeneration_strength": args.regeneration_strength, "ni_vsds_iterations": tau,
                   "regeneration_start_index": start},
        "generator": {"diffusers": diffusers.__version__, "torch": torch.__version__},
        "tensors": {name: list(t.shape) for name, t in sorted(rec.items())},
    }
    with open(out / "case.json", "w") as f:
        json.dump(case, f, indent=1)
    print(f"recorded {len(rec)} tensors into {out}")


if __name__ == "__main__":
    sys.exit(main())
