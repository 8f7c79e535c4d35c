# Lists every tensor (name and shape) of the released SVD-XT UNet and temporal VAE as diffusers builds them, for the
# benchmark's random weights (examples/src/main/resources/bench/svd-xt-tensors.tsv) and the architecture tests.
# Usage (needs torch and diffusers' source on PYTHONPATH): python3 make_svd_tensor_lists.py OUT.tsv
import sys
import torch
from diffusers import UNetSpatioTemporalConditionModel, AutoencoderKLTemporalDecoder

with torch.device("meta"):
    unet = UNetSpatioTemporalConditionModel(num_frames=25)   # the library defaults are SVD-XT's config
    vae = AutoencoderKLTemporalDecoder(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                                       layers_per_block=2, latent_channels=4, sample_size=768)
with open(sys.argv[1], "w") as f:
    f.write("# component\tname\tshape: stabilityai/stable-video-diffusion-img2vid-xt as diffusers builds it "
            "(UNetSpatioTemporalConditionModel(num_frames=25), AutoencoderKLTemporalDecoder 128-256-512-512)\n")
    for comp, m in (("unet", unet), ("vae", vae)):
        total = 0
        for name, t in m.state_dict().items():
            f.write(f"{comp}\t{name}\t[{','.join(str(d) for d in t.shape)}]\n")
            total += t.numel()
        print(comp, total, flush=True)
