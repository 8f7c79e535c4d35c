# (a copy of ../../../shared/tools/make_svd_reference_cases.py with the svd-tiny-fp16 case added)
# Builds small Stable Video Diffusion pipelines with random weights in the diffusers checkpoint layout, runs them on
# the CPU in float32 and records the intermediate tensors, so that a re-implementation can be checked stage by stage.
# Usage: python3 make_svd_reference_cases.py OUTDIR svd-tiny svd-tiny-chunked  (in that order; add cases as needed); needs torch, diffusers, transformers, safetensors, pillow.
import json, os, sys
import numpy as np
import torch
import PIL.Image
import diffusers
from safetensors.torch import save_file
from diffusers import (StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel, AutoencoderKLTemporalDecoder,
                       EulerDiscreteScheduler)
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, CLIPImageProcessor

SCHED = dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type="v_prediction",
             use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0, timestep_spacing="leading", steps_offset=1,
             timestep_type="continuous", interpolation_type="linear", num_train_timesteps=1000)
MODELS = {
    "tiny": dict(
        unet=dict(block_out_channels=(32, 64), layers_per_block=2, cross_attention_dim=32, num_attention_heads=(2, 4),
                  down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                  up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                  addition_time_embed_dim=32, projection_class_embeddings_input_dim=96, num_frames=4, sample_size=16),
        vae=dict(block_out_channels=(32, 64), down_block_types=("DownEncoderBlock2D",) * 2, layers_per_block=1),
        vision=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=3, num_attention_heads=4, image_size=224,
                    patch_size=32, projection_dim=32)),
    # 3 levels (UNet and VAE, VAE mid-block attention), 25 frames by default (the xt layout), narrow to stay small
    "tiny3": dict(
        unet=dict(block_out_channels=(32, 32, 32), layers_per_block=1, cross_attention_dim=32, num_attention_heads=(2, 2, 1),
                  down_block_types=("CrossAttnDownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
                  up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
                  addition_time_embed_dim=32, projection_class_embeddings_input_dim=96, num_frames=25, sample_size=8),
        vae=dict(block_out_channels=(32, 32, 32), down_block_types=("DownEncoderBlock2D",) * 3, layers_per_block=2),
        vision=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4, image_size=224,
                    patch_size=32, projection_dim=32)),
}
CASES = {
    "svd-tiny": dict(model="tiny", image_size=(61, 43), height=32, width=48, num_frames=4, steps=3, min_guidance=1.0,
                     max_guidance=3.0, fps=7, motion_bucket_id=127, noise_aug_strength=0.02, decode_chunk_size=4, seed=42),
    "svd-tiny-chunked": dict(model="tiny", same_checkpoint_as="svd-tiny", image_size=(40, 40), height=32, width=32, num_frames=5, steps=2, min_guidance=1.0,
                             max_guidance=1.0, fps=10, motion_bucket_id=30, noise_aug_strength=0.1, decode_chunk_size=2, seed=7),
    # the released checkpoint's fp16 variant layout (computed in float32 after loading), a 3-level UNet and VAE (latents
    # 6x10: not a multiple of the UNet's 4x up factor), num_frames None = the config's 25, VAE mid-block attention
    # (layers_per_block 2), decode in chunks of 8 (8, 8, 8, 1: the xt default), guidance 1.5 -> 2.5
    "svd-tiny-fp16": dict(model="tiny3", fp16_variant=True, image_size=(50, 30), height=24, width=40, num_frames=None,
                          steps=2, min_guidance=1.5, max_guidance=2.5, fps=6, motion_bucket_id=100, noise_aug_strength=0.05,
                          decode_chunk_size=8, seed=1234),
    # the same checkpoint at 14 frames (the img2vid count), one step, all frames decoded at once
    # (latents 8x10: the deepest UNet level is 2x3; at 1x2 the 32 one-channel GroupNorm groups of 2 values are too
    # ill-conditioned for a float32 comparison)
    "svd-tiny-14": dict(model="tiny3", same_checkpoint_as="svd-tiny-fp16", image_size=(33, 47), height=32, width=40,
                        num_frames=14, steps=1, min_guidance=1.0, max_guidance=2.0, fps=12, motion_bucket_id=255,
                        noise_aug_strength=0.0, decode_chunk_size=None, seed=99),
    # the svd-tiny checkpoint with the scheduler swapped as diffusers users do
    # (pipe.scheduler = Cls.from_config(pipe.scheduler.config, **overrides)); the pipeline passes no generator to the
    # step, so Euler ancestral's noise comes from torch's default generator, the one torch.manual_seed(seed) returns
    "svd-tiny-ancestral": dict(model="tiny", same_checkpoint_as="svd-tiny", image_size=(61, 43), height=32, width=48,
                               num_frames=4, steps=4, min_guidance=1.0, max_guidance=3.0, fps=7, motion_bucket_id=127,
                               noise_aug_strength=0.02, decode_chunk_size=4, seed=42,
                               swap_scheduler=dict(name="EulerAncestralDiscreteScheduler", overrides={})),
    "svd-tiny-dpmpp": dict(model="tiny", same_checkpoint_as="svd-tiny", image_size=(61, 43), height=32, width=48,
                           num_frames=4, steps=4, min_guidance=1.0, max_guidance=3.0, fps=7, motion_bucket_id=127,
                           noise_aug_strength=0.02, decode_chunk_size=4, seed=42,
                           swap_scheduler=dict(name="DPMSolverMultistepScheduler", overrides=dict(use_karras_sigmas=False))),
}

def build(model, ckpt_dir):
    torch.manual_seed(0)
    unet = UNetSpatioTemporalConditionModel(in_channels=8, out_channels=4, **model["unet"])
    vae = AutoencoderKLTemporalDecoder(in_channels=3, out_channels=3, latent_channels=4, **model["vae"])
    ie = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_act="gelu", **model["vision"]))
    fe = CLIPImageProcessor(crop_size=224, size=224)
    # exercise every path: zero-initialised parameters get small random values, and each learned spatial/temporal
    # blend factor its own value (the library initialises them all to the same constant)
    with torch.no_grad():
        for m in (unet, vae, ie):
            for n, p in m.named_parameters():
                if "mix_factor" in n:
                    p.uniform_(-1.5, 1.5)
                elif p.abs().max() == 0:
                    p.normal_(0, 0.05)
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=ie, unet=unet, scheduler=EulerDiscreteScheduler(**SCHED),
                                        feature_extractor=fe)
    pipe.save_pretrained(ckpt_dir, safe_serialization=True)
    return StableVideoDiffusionPipeline.from_pretrained(ckpt_dir)

def test_image(w, h, seed):
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255.0 / max(w - 1, 1), y * 255.0 / max(h - 1, 1), 128 + 100 * np.sin(x / 3.0 + y / 5.0)], -1)
    img += rs.normal(0, 12, img.shape)
    return PIL.Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))

def run_case(case, pipe, outdir):
    rec, calls = {}, {"unet": 0, "step": 0}
    def put(k, t):
        if isinstance(t, torch.Tensor):
            rec[k] = t.detach().to(torch.float32).cpu().contiguous().clone()
    orig_ie = pipe.image_encoder.forward
    def ie_fwd(pixel_values, *a, **k):
        put("clip_pixel_values", pixel_values)
        out = orig_ie(pixel_values, *a, **k)
        put("clip_vision.image_embeds", out.image_embeds)
        return out
    pipe.image_encoder.forward = ie_fwd
    orig_vae_encode = pipe.vae.encode
    def vae_encode(x, *a, **k):
        put("vae_encode.input", x)           # the resized image with noise augmentation
        out = orig_vae_encode(x, *a, **k)
        put("vae_encode.mode", out.latent_dist.mode())
        return out
    pipe.vae.encode = vae_encode
    orig_gat = pipe._get_add_time_ids
    def gat(*a, **k):
        out = orig_gat(*a, **k)
        put("added_time_ids", out)
        return out
    pipe._get_add_time_ids = gat
    orig_pl = pipe.prepare_latents
    def prep_l(*a, **k):
        out = orig_pl(*a, **k)
        put("initial_latents", out)
        return out
    pipe.prepare_latents = prep_l
    orig_unet = pipe.unet.forward
    def unet_fwd(sample, timestep, encoder_hidden_states, added_time_ids, **k):
        i = calls["unet"]
        put(f"unet.{i}.sample", sample); put(f"unet.{i}.timestep", torch.as_tensor(timestep).reshape(-1))
        put(f"unet.{i}.encoder_hidden_states", encoder_hidden_states); put(f"unet.{i}.added_time_ids", added_time_ids)
        out = orig_unet(sample, timestep, encoder_hidden_states, added_time_ids, **k)
        put(f"unet.{i}.out", out[0] if isinstance(out, tuple) else out.sample)
        calls["unet"] += 1
        return out
    pipe.unet.forward = unet_fwd
    orig_step = pipe.scheduler.step
    def step(mo, t, s, **k):
        i = calls["step"]
        put(f"step.{i}.model_output", mo); put(f"step.{i}.sample", s); put(f"step.{i}.timestep", torch.as_tensor(t).reshape(-1))
        out = orig_step(mo, t, s, **k)
        put(f"step.{i}.prev_sample", out.prev_sample)
        calls["step"] += 1
        return out
    pipe.scheduler.step = step
    orig_dec = pipe.decode_latents
    def dec(latents, *a, **k):
        put("decode.latents", latents)
        out = orig_dec(latents, *a, **k)
        put("decode.video", out)
        return out
    pipe.decode_latents = dec

    img = test_image(*case["image_size"], seed=case["seed"])
    img.save(os.path.join(outdir, "input.png"))
    img = PIL.Image.open(os.path.join(outdir, "input.png")).convert("RGB")
    out = pipe(img, height=case["height"], width=case["width"], num_frames=case["num_frames"],
               num_inference_steps=case["steps"], min_guidance_scale=case["min_guidance"],
               max_guidance_scale=case["max_guidance"], fps=case["fps"], motion_bucket_id=case["motion_bucket_id"],
               noise_aug_strength=case["noise_aug_strength"], decode_chunk_size=case["decode_chunk_size"],
               generator=torch.manual_seed(case["seed"]), output_type="np")
    frames = np.asarray(out.frames)
    put("sigmas", torch.as_tensor(pipe.scheduler.sigmas))
    put("frames_float", torch.from_numpy(frames.astype(np.float32)))
    put("frames_uint8", torch.from_numpy((frames * 255).round().astype(np.float32)))
    save_file(rec, os.path.join(outdir, "tensors.safetensors"))
    return sorted(rec)

if __name__ == "__main__":
    out_root = sys.argv[1]
    torch.set_grad_enabled(False)
    for name in sys.argv[2:]:
        case = CASES[name]
        d = os.path.join(out_root, name)
        os.makedirs(d, exist_ok=True)
        if "same_checkpoint_as" in case:
            ckpt = os.path.join(out_root, case["same_checkpoint_as"], "checkpoint")
            fp16 = CASES[case["same_checkpoint_as"]].get("fp16_variant", False)
            pipe = (StableVideoDiffusionPipeline.from_pretrained(ckpt, variant="fp16", torch_dtype=torch.float32) if fp16
                    else StableVideoDiffusionPipeline.from_pretrained(ckpt))
            case = dict(case, checkpoint="../" + case["same_checkpoint_as"] + "/checkpoint")
        elif case.get("fp16_variant"):
            # weights rounded to fp16 and saved under the released checkpoint's "fp16" variant names; compute in float32
            tmp = os.path.join(d, "fp32-tmp")
            build(MODELS[case["model"]], tmp).to(torch.float16).save_pretrained(
                os.path.join(d, "checkpoint"), variant="fp16", safe_serialization=True)
            import shutil; shutil.rmtree(tmp)
            pipe = StableVideoDiffusionPipeline.from_pretrained(os.path.join(d, "checkpoint"), variant="fp16",
                                                                torch_dtype=torch.float32)
            case = dict(case, checkpoint="checkpoint")
        else:
            pipe = build(MODELS[case["model"]], os.path.join(d, "checkpoint"))
            case = dict(case, checkpoint="checkpoint")
        if "swap_scheduler" in case:
            swap = case["swap_scheduler"]
            pipe.scheduler = getattr(diffusers, swap["name"]).from_config(pipe.scheduler.config, **swap["overrides"])
        keys = run_case(case, pipe, d)
        meta = dict(case, pipeline="StableVideoDiffusionPipeline", model_config=MODELS[case["model"]], scheduler=SCHED,
                    torch=torch.__version__, tensors=keys)
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(meta, f, indent=1, default=list)
        print(name, "ok", len(keys), "tensors", flush=True)
