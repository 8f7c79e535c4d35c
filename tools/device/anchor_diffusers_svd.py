# (from ../../../shared/bench/anchor_diffusers_svd.py: diffusers' SVD-XT figures measured on the machine of our own run)
# Performance anchor: diffusers StableVideoDiffusionPipeline with the released SVD-XT architecture and random
# weights, fp16 on one GPU (the documented usage: 576x1024, 25 frames, 25 steps, decode_chunk_size 8).
import os, time, json
import torch, numpy as np
from PIL import Image
from diffusers import (StableVideoDiffusionPipeline, UNetSpatioTemporalConditionModel, AutoencoderKLTemporalDecoder,
                       EulerDiscreteScheduler)
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, CLIPImageProcessor

dev, dt = "cuda", torch.float16
torch.manual_seed(0)
res = {}
unet = UNetSpatioTemporalConditionModel(num_frames=25)          # library defaults = SVD-XT
vae = AutoencoderKLTemporalDecoder(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                                   layers_per_block=2, latent_channels=4, sample_size=768)
ie = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                                                    num_attention_heads=16, image_size=224, patch_size=14,
                                                    projection_dim=1024, hidden_act="gelu"))
for n, m in [("unet", unet), ("vae", vae), ("image_encoder", ie)]:
    res["params_" + n] = sum(p.numel() for p in m.parameters())
print(json.dumps(res), flush=True)
sched = EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type="v_prediction",
                               use_karras_sigmas=True, sigma_min=0.002, sigma_max=700.0, timestep_spacing="leading",
                               steps_offset=1, timestep_type="continuous", interpolation_type="linear")
fe = CLIPImageProcessor(crop_size=224, size=224)
pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=ie, unet=unet, scheduler=sched, feature_extractor=fe).to(dev, dt)
pipe.set_progress_bar_config(disable=True)

def ev_time(fn):
    s = torch.cuda.Event(enable_timing=True); e = torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize(); s.record(); fn(); e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / 1000.0

F, h, w = 25, 72, 128
x = torch.randn(2, F, 8, h, w, device=dev, dtype=dt)
ctx = torch.randn(2, 1, 1024, device=dev, dtype=dt)
ids = torch.tensor([[6, 127, 0.02]] * 2, device=dev, dtype=dt)
t = torch.tensor([0.5], device=dev)
with torch.no_grad():
    f = lambda: unet(x, t, encoder_hidden_states=ctx, added_time_ids=ids, return_dict=False)
    f(); f()
    res["svd_unet_step_cfg_s"] = min(ev_time(f) for _ in range(3))
    res["svd_unet_peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
    print(json.dumps(res), flush=True)
    z = torch.randn(F, 4, h, w, device=dev, dtype=dt)
    g = lambda: [vae.decode(z[i:i + 8], num_frames=z[i:i + 8].shape[0]).sample for i in range(0, F, 8)]
    g()
    res["svd_vae_decode25_chunk8_s"] = ev_time(g)
    print(json.dumps(res), flush=True)
img = Image.fromarray((np.random.RandomState(0).rand(576, 1024, 3) * 255).astype(np.uint8))
torch.cuda.reset_peak_memory_stats()
call = lambda: pipe(img, height=576, width=1024, num_frames=F, num_inference_steps=25, decode_chunk_size=8,
                    generator=torch.manual_seed(42), output_type="np")
t0 = time.time(); call(); torch.cuda.synchronize(); res["svd_pipeline_first_call_s"] = time.time() - t0
t0 = time.time(); out = call(); torch.cuda.synchronize(); res["svd_pipeline_s_25steps"] = time.time() - t0
res["svd_pipeline_peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
res["frames_shape"] = list(np.asarray(out.frames).shape)
res["torch"] = torch.__version__; res["gpu"] = torch.cuda.get_device_name()
print(json.dumps(res), flush=True)
with open(os.path.join(os.environ.get("OUT", "/tmp"), "anchor_svd.json"), "w") as fh: json.dump(res, fh, indent=1)
