#!/usr/bin/env python3
"""How close diffusers' own Stable Video Diffusion UNet and temporal VAE get to an SVD case's float32 tensors when
they compute in fp16 or bf16.

A developer tool (needs PyTorch and diffusers; the Java product never runs it). It loads the case's UNet and
AutoencoderKLTemporalDecoder (the fp16 variant files, upcast, when the case has only those), casts them to each
precision asked for, feeds them the case's recorded float32 inputs (every UNet call, the VAE encode of the
conditioning image and the chunked VAE decode, done as StableVideoDiffusionPipeline does them) and prints the relative
error ||out - ref|| / ||ref|| of each stage, the same measure the Java conformance tests use: this is the error floor
a port running in that precision can be expected to reach. A stage that the device cannot run in that precision is
reported as failed, with the error.

    python3 conformance/tools/svd_precision_check.py conformance/cases/svd-tiny --device cpu --dtype fp32 fp16 bf16
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file


def relative_error(actual, expected):
    a = actual.detach().float().cpu().numpy().astype(np.float64)
    b = expected.astype(np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def load(cls, folder):
    fp16_only = not (folder / "diffusion_pytorch_model.safetensors").exists()
    # from_pretrained keeps float32 by default, so the fp16 variant is upcast on load
    return cls.from_pretrained(folder, variant="fp16" if fp16_only else None).eval()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", type=Path, help="SVD case folder (case.json, tensors.safetensors, checkpoint)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", nargs="+", default=["fp32", "fp16", "bf16"], choices=["fp32", "fp16", "bf16"])
    args = p.parse_args()

    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel

    case = json.loads((args.case / "case.json").read_text())
    ref = load_file(str(args.case / "tensors.safetensors"))
    checkpoint = (args.case / case.get("checkpoint", "checkpoint")).resolve()
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    dev = torch.device(args.device)
    print(f"case {args.case.name}, checkpoint {checkpoint}, device {dev}, torch {torch.__version__}")

    for name in args.dtype:
        dt = dtypes[name]
        # loaded afresh each time: Module.to casts in place, and fp32 -> fp16 -> bf16 would round twice
        unet = load(UNetSpatioTemporalConditionModel, checkpoint / "unet").to(dev, dt)
        vae = load(AutoencoderKLTemporalDecoder, checkpoint / "vae").to(dev, dt)
        rows = []

        def stage(key, fn):
            try:
                with torch.no_grad():
                    rows.append((key, f"{relative_error(fn(), ref[key]):.3e}"))
            except Exception as e:  # e.g. an op with no kernel for this dtype on this device
                rows.append((key, f"FAILED: {type(e).__name__}: {str(e).splitlines()[0]}"))

        t = lambda key, d=dt: torch.from_numpy(ref[key]).to(dev, d)
        n = 0
        while f"unet.{n}.out" in ref:
            # the pipeline passes the scheduler's float32 timestep and everything else in the UNet's dtype
            stage(f"unet.{n}.out", lambda n=n: unet(t(f"unet.{n}.sample"), t(f"unet.{n}.timestep", torch.float32),
                                                    encoder_hidden_states=t(f"unet.{n}.encoder_hidden_states"),
                                                    added_time_ids=t(f"unet.{n}.added_time_ids"),
                                                    return_dict=False)[0])
            n += 1

        stage("vae_encode.mode", lambda: vae.encode(t("vae_encode.input")).latent_dist.mode())

        def decode():  # StableVideoDiffusionPipeline.decode_latents
            latents = t("decode.latents")   # [B, F, C, h, w]
            num_frames, chunk = latents.shape[1], case["decode_chunk_size"]
            latents = latents.flatten(0, 1) / vae.config.scaling_factor
            frames = torch.cat([vae.decode(latents[i:i + chunk], num_frames=latents[i:i + chunk].shape[0]).sample
                                for i in range(0, latents.shape[0], chunk)])
            return frames.reshape(-1, num_frames, *frames.shape[1:]).permute(0, 2, 1, 3, 4).float()
        stage("decode.video", decode)

        print(f"diffusers {name} vs the case's float32 reference (relative error):")
        for key, err in rows:
            print(f"  {key:28s} {err}")


if __name__ == "__main__":
    main()
