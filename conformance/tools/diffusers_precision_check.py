#!/usr/bin/env python3
"""How close diffusers itself gets to a conformance case's float32 tensors when it computes in fp16 or bf16.

A developer tool (needs PyTorch, diffusers, transformers; the Java product never runs it). It loads the case's
checkpoint, casts each model to the precision asked for, feeds it the case's recorded float32 inputs and prints the
relative error ||out - ref|| / ||ref|| of each stage, the same measure the Java conformance tests use: this is the
error floor a port running in that precision can be expected to reach.

    python3 conformance/tools/diffusers_precision_check.py conformance/cases/tiny --device cuda --dtype bf16 fp16
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file


def relative_error(actual, expected):
    a = actual.detach().float().cpu().numpy().astype(np.float64)
    b = expected.astype(np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("case", type=Path, help="case folder (case.json, tensors.safetensors, checkpoint/ or ../tiny/checkpoint)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", nargs="+", default=["fp32", "fp16", "bf16"], choices=["fp32", "fp16", "bf16"])
    args = p.parse_args()

    from diffusers import AutoencoderKL, I2VGenXLUNet
    from transformers import CLIPTextModel

    ref = load_file(str(args.case / "tensors.safetensors"))
    checkpoint = args.case / "checkpoint"
    if not checkpoint.is_dir():
        checkpoint = args.case.parent / "tiny" / "checkpoint"
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    dev = torch.device(args.device)
    print(f"case {args.case.name}, checkpoint {checkpoint}, device {dev}, torch {torch.__version__}")

    for name in args.dtype:
        dt = dtypes[name]
        rows = []
        text = CLIPTextModel.from_pretrained(checkpoint / "text_encoder", torch_dtype=dt).to(dev).eval()
        ids = torch.from_numpy(ref["tokenizer.0.input_ids"].astype(np.int64)).reshape(1, -1).to(dev)
        with torch.no_grad():
            hidden = text(ids, output_hidden_states=True)
            # clip_skip = 1: the penultimate layer through the final LayerNorm (what the pipeline's encode_prompt does)
            emb = getattr(text, "text_model", text).final_layer_norm(hidden.hidden_states[-2])
        rows.append(("prompt_embeds", relative_error(emb, ref["prompt_embeds"])))

        unet = I2VGenXLUNet.from_pretrained(checkpoint / "unet", torch_dtype=dt).to(dev).eval()
        n = 0
        while f"unet.{n}.out" in ref:
            t = lambda key: torch.from_numpy(ref[f"unet.{n}.{key}"]).to(dev)
            with torch.no_grad():
                out = unet(t("sample").to(dt), t("timestep"), encoder_hidden_states=t("encoder_hidden_states").to(dt),
                           fps=t("fps"), image_latents=t("image_latents").to(dt),
                           image_embeddings=t("image_embeddings").to(dt), return_dict=False)[0]
            rows.append((f"unet.{n}.out", relative_error(out, ref[f"unet.{n}.out"])))
            n += 1

        vae = AutoencoderKL.from_pretrained(checkpoint / "vae", torch_dtype=dt).to(dev).eval()
        latents = torch.from_numpy(ref["decode.latents"]).to(dev).to(dt)   # [B, C, F, h, w], already scaled
        b, c, f, h, w = latents.shape
        frames = (latents / vae.config.scaling_factor).permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        with torch.no_grad():
            images = torch.cat([vae.decode(frames[i:i + 1]).sample for i in range(b * f)])
        video = images.reshape(b, f, *images.shape[1:]).permute(0, 2, 1, 3, 4)
        rows.append(("decode.video", relative_error(video, ref["decode.video"])))

        print(f"diffusers {name} vs the case's float32 reference (relative error):")
        for key, err in rows:
            print(f"  {key:28s} {err:.3e}")


if __name__ == "__main__":
    main()
