#!/usr/bin/env python3
"""Records a conformance reference case: one run of diffusers' I2VGenXLPipeline with every intermediate tensor.

This is a developer tool for people who have PyTorch, diffusers and transformers installed; the Java product never
runs it. It writes a case folder in the layout of conformance/cases/<case>/ (see conformance/cases/REFERENCE-README.md):

    case.json              pipeline arguments, library versions and the shape of every recorded tensor
    input.png              the input image as given to the pipeline (RGB)
    tensors.safetensors    every recorded tensor, stored as F32
    checkpoint/            only when the checkpoint is built here (no --checkpoint)

The checkpoint is either built from small random configurations (the default; --fp16-variant saves it the way the
released model is saved) or an existing diffusers folder (--checkpoint DIR, e.g. the released ali-vilab/i2vgen-xl).
The pipeline always runs on the CPU in float32.

Example (re-records the bundled "tiny" case into /tmp/tiny):

    python3 conformance/tools/make_reference_case.py --out /tmp/tiny \
        --checkpoint conformance/cases/tiny/checkpoint --image conformance/cases/tiny/input.png \
        --prompt "A red fox jumps over a frozen lake at dawn, cinematic" \
        --negative-prompt "Distorted, discontinuous, ugly, blurry, low resolution, motionless, static" \
        --height 32 --width 48 --num-frames 4 --steps 3 --guidance 9.0 --fps 16 --seed 8888 --decode-chunk-size 1
"""

import argparse
import functools
import inspect
import json
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import PIL.Image
import torch
from safetensors.torch import save_file

import diffusers
import transformers
from diffusers import AutoencoderKL, DDIMScheduler, I2VGenXLPipeline, I2VGenXLUNet
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

TOOLS_DIR = Path(__file__).resolve().parent
# The released ali-vilab/i2vgen-xl tokenizer files (vocab.json + merges.txt) are bundled with the tiny case.
DEFAULT_TOKENIZER = TOOLS_DIR.parent / "cases" / "tiny" / "checkpoint" / "tokenizer"

# The released scheduler configuration (ali-vilab/i2vgen-xl scheduler/scheduler_config.json).
RELEASED_SCHEDULER = dict(
    beta_end=0.02,
    beta_schedule="squaredcos_cap_v2",
    beta_start=0.0001,
    clip_sample=False,
    clip_sample_range=1.0,
    dynamic_thresholding_ratio=0.995,
    num_train_timesteps=1000,
    prediction_type="v_prediction",
    rescale_betas_zero_snr=True,
    sample_max_value=1.0,
    set_alpha_to_one=True,
    steps_offset=1,
    thresholding=False,
    timestep_spacing="leading",
    trained_betas=None,
)
# CLIP's normalisation statistics (the released feature_extractor/preprocessor_config.json).
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


# ----------------------------------------------------------------------------------------------------------------------
# Small file helpers: every file is written to a temporary name next to its target, then renamed.
# ----------------------------------------------------------------------------------------------------------------------

def replace_atomically(target: Path, write):
    """Calls write(tmp_path) and renames tmp_path to target, so a crash never leaves a half-written file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_json(target: Path, value):
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=1, ensure_ascii=False)
            f.write("\n")

    replace_atomically(target, write)


# ----------------------------------------------------------------------------------------------------------------------
# Building a tiny random checkpoint.
# ----------------------------------------------------------------------------------------------------------------------

def randomise_zero_parameters(model: torch.nn.Module, std: float, generator: torch.Generator):
    """Gives every all-zero parameter small random values.

    diffusers zero-initialises some layers (the last conv of each temporal conv layer, norm biases, ...); with zeros
    a re-implementation that skips or mis-wires such a path would still match, so every path gets real numbers.
    Norm weights (all ones) are left alone.
    """
    with torch.no_grad():
        for _, p in model.named_parameters():
            if torch.count_nonzero(p) == 0:
                p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * std)


def build_components(args):
    """The seven pipeline components with small random weights, in float32."""
    if args.clip_hidden % args.clip_heads != 0:
        raise ValueError(f"--clip-hidden ({args.clip_hidden}) must be divisible by --clip-heads ({args.clip_heads})")
    if len(args.unet_down_blocks) != len(args.unet_block_channels) or len(args.unet_up_blocks) != len(
            args.unet_block_channels):
        raise ValueError("--unet-down-blocks and --unet-up-blocks need one entry per --unet-block-channels entry, got "
                         f"{args.unet_down_blocks}, {args.unet_up_blocks} for {args.unet_block_channels}")
    if args.clip_image_size % args.clip_patch != 0:
        raise ValueError(f"--clip-image-size ({args.clip_image_size}) must be divisible by --clip-patch "
                         f"({args.clip_patch})")

    tokenizer_dir = Path(args.tokenizer_source)
    if not tokenizer_dir.is_dir():
        raise FileNotFoundError(f"--tokenizer-source {tokenizer_dir}: not a folder with a CLIP tokenizer "
                                "(vocab.json + merges.txt or tokenizer.json)")
    tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer_dir))

    torch.manual_seed(args.weights_seed)
    unet = I2VGenXLUNet(
        sample_size=None,
        in_channels=4,
        out_channels=4,
        down_block_types=tuple(args.unet_down_blocks),
        up_block_types=tuple(args.unet_up_blocks),
        block_out_channels=tuple(args.unet_block_channels),
        layers_per_block=args.unet_layers_per_block,
        norm_num_groups=args.unet_norm_groups,
        # The UNet's cross-attention width is the CLIP width: text states and the projected image embedding.
        cross_attention_dim=args.clip_hidden,
        attention_head_dim=args.unet_attention_head_dim,
        num_attention_heads=None,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * len(args.vae_block_channels),
        up_block_types=("UpDecoderBlock2D",) * len(args.vae_block_channels),
        block_out_channels=tuple(args.vae_block_channels),
        layers_per_block=args.vae_layers_per_block,
        act_fn="silu",
        latent_channels=4,
        norm_num_groups=args.vae_norm_groups,
        sample_size=args.clip_image_size,
        scaling_factor=args.vae_scaling_factor,
        force_upcast=True,
    )
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.clip_hidden,
        intermediate_size=args.clip_intermediate,
        num_hidden_layers=args.clip_layers,
        num_attention_heads=args.clip_heads,
        max_position_embeddings=77,
        projection_dim=args.clip_hidden,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
    ))
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=args.clip_hidden,
        intermediate_size=args.clip_intermediate,
        num_hidden_layers=args.clip_layers,
        num_attention_heads=args.clip_heads,
        image_size=args.clip_image_size,
        patch_size=args.clip_patch,
        projection_dim=args.clip_hidden,
        hidden_act="gelu",
        layer_norm_eps=1e-5,
    ))
    perturb = torch.Generator().manual_seed(args.weights_seed + 1)
    for model in (unet, vae, text_encoder, image_encoder):
        randomise_zero_parameters(model, args.zero_init_std, perturb)
        model.eval()

    feature_extractor = CLIPImageProcessor(
        crop_size={"height": args.clip_image_size, "width": args.clip_image_size},
        size={"shortest_edge": args.clip_image_size},
        image_mean=CLIP_MEAN,
        image_std=CLIP_STD,
        resample=3,
    )
    scheduler = DDIMScheduler(**RELEASED_SCHEDULER)
    return dict(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, image_encoder=image_encoder,
                feature_extractor=feature_extractor, unet=unet, scheduler=scheduler)


def save_checkpoint(components, target: Path, fp16_variant: bool, tokenizer_source: Path):
    """Saves a diffusers checkpoint folder, written under a temporary name and renamed when complete.

    Plain layout: float32 `*.safetensors`, tokenizer as vocab.json + merges.txt (the released layout).
    --fp16-variant: F16 tensors in `*.fp16.safetensors` and the tokenizer as tokenizer.json only (what transformers 5
    writes), like the released checkpoint loaded with variant="fp16".
    """
    if target.exists():
        raise FileExistsError(f"checkpoint folder {target} already exists; choose another --out or remove it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="." + target.name + ".", dir=target.parent))
    try:
        pipe = I2VGenXLPipeline(**components)
        if fp16_variant:
            pipe.to(torch.float16)
        pipe.save_pretrained(str(tmp), safe_serialization=True)

        if fp16_variant:
            # Variant file names: model.safetensors -> model.fp16.safetensors (single-file weights, no index).
            for f in tmp.glob("*/*.safetensors"):
                f.rename(f.with_name(f.name[: -len(".safetensors")] + ".fp16.safetensors"))

        tok_dir = tmp / "tokenizer"
        config_file = tok_dir / "tokenizer_config.json"
        tok_config = json.loads(config_file.read_text(encoding="utf-8"))
        for machine_specific in ("is_local", "local_files_only", "_name_or_path", "name_or_path"):
            tok_config.pop(machine_specific, None)
        keep = {"tokenizer_config.json", "tokenizer.json"} if fp16_variant else {"tokenizer_config.json"}
        for f in list(tok_dir.iterdir()):
            if f.name not in keep:
                f.unlink()
        if fp16_variant:
            if not (tok_dir / "tokenizer.json").is_file():
                # Older transformers save a slow tokenizer without tokenizer.json; write the fast one explicitly.
                components["tokenizer"].backend_tokenizer.save(str(tok_dir / "tokenizer.json"))
        else:
            for name in ("vocab.json", "merges.txt"):
                if not (tokenizer_source / name).is_file():
                    raise FileNotFoundError(f"--tokenizer-source {tokenizer_source} has no {name}; the plain layout "
                                            "copies vocab.json + merges.txt (use --fp16-variant for tokenizer.json)")
                shutil.copyfile(tokenizer_source / name, tok_dir / name)
        config_file.write_text(json.dumps(tok_config, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def detect_variant(checkpoint: Path):
    """"fp16" when the UNet weights exist only as the fp16 variant (the released layout), else None."""
    unet_dir = checkpoint / "unet"
    if not unet_dir.is_dir():
        raise FileNotFoundError(f"--checkpoint {checkpoint}: no unet/ folder; expected a diffusers I2VGenXLPipeline "
                                "folder (model_index.json, unet/, vae/, text_encoder/, ...)")
    if (unet_dir / "diffusion_pytorch_model.safetensors").exists():
        return None
    if (unet_dir / "diffusion_pytorch_model.fp16.safetensors").exists():
        return "fp16"
    raise FileNotFoundError(f"--checkpoint {checkpoint}: unet/ has neither diffusion_pytorch_model.safetensors nor "
                            "diffusion_pytorch_model.fp16.safetensors")


# ----------------------------------------------------------------------------------------------------------------------
# Recording.
# ----------------------------------------------------------------------------------------------------------------------

def first_tensor(output):
    """A module's result as one tensor: the tensor itself, or the first element of a tuple / model output."""
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "to_tuple"):
        return output.to_tuple()[0]
    if isinstance(output, (tuple, list)):
        return output[0]
    raise TypeError(f"cannot take a tensor from a module output of type {type(output)}")


class Recorder:
    """Collects named tensors (CPU float32 copies) while the pipeline runs."""

    def __init__(self):
        self.tensors = {}

    def record(self, name, value, overwrite=False):
        if name in self.tensors and not overwrite:
            raise RuntimeError(f"tensor {name} recorded twice; the pipeline called something more often than expected")
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.array(value))  # a writable copy (PIL arrays are read-only)
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(value)
        value = value.detach().to("cpu", torch.float32)
        if value.ndim == 0:
            value = value.reshape(1)  # scalars (the timestep) are stored as 1-element tensors
        self.tensors[name] = value.contiguous().clone()


class RecordingTokenizer:
    """Stands in for the pipeline's tokenizer and records the ids and mask of every call, in call order."""

    def __init__(self, tokenizer, recorder):
        self._tokenizer = tokenizer
        self._recorder = recorder
        self._calls = 0

    def __call__(self, *args, **kwargs):
        encoding = self._tokenizer(*args, **kwargs)
        n = self._calls
        self._calls += 1
        self._recorder.record(f"tokenizer.{n}.input_ids", torch.as_tensor(encoding["input_ids"]))
        self._recorder.record(f"tokenizer.{n}.attention_mask", torch.as_tensor(encoding["attention_mask"]))
        return encoding

    def __getattr__(self, name):
        return getattr(self._tokenizer, name)


def ask_for_hidden_states(module, args, kwargs):
    # The pipeline does not always request hidden states (the image encoder never does); they do not change the result.
    kwargs["output_hidden_states"] = True
    return args, kwargs


def instrument(pipe, rec: Recorder):
    """Installs the hooks and wrappers that record every tensor named in REFERENCE-README.md."""

    # --- prompt: tokenizer, text encoder, encode_prompt --------------------------------------------------------------
    object.__setattr__(pipe, "tokenizer", RecordingTokenizer(pipe.tokenizer, rec))

    text_encoder = pipe.text_encoder
    if not hasattr(text_encoder, "text_model"):
        # transformers 5 removed CLIPTextModel.text_model, which diffusers' encode_prompt still reads for clip_skip;
        # alias the one attribute it uses. Everything else is the libraries' own behaviour.
        text_encoder.text_model = types.SimpleNamespace(final_layer_norm=text_encoder.final_layer_norm)
    text_calls = [0]

    def on_text_encoder(module, args, output):
        n = text_calls[0]
        text_calls[0] += 1
        for k, h in enumerate(output.hidden_states):
            rec.record(f"text_encoder.{n}.hidden_states.{k}", h)
        rec.record(f"text_encoder.{n}.last_hidden_state", output.last_hidden_state)

    text_encoder.register_forward_pre_hook(ask_for_hidden_states, with_kwargs=True)
    text_encoder.register_forward_hook(on_text_encoder)

    encode_prompt = pipe.encode_prompt

    @functools.wraps(encode_prompt)
    def recording_encode_prompt(*args, **kwargs):
        prompt_embeds, negative_prompt_embeds = encode_prompt(*args, **kwargs)
        rec.record("prompt_embeds", prompt_embeds)
        if negative_prompt_embeds is not None:
            rec.record("negative_prompt_embeds", negative_prompt_embeds)
        return prompt_embeds, negative_prompt_embeds

    object.__setattr__(pipe, "encode_prompt", recording_encode_prompt)

    # --- image: CLIP branch -------------------------------------------------------------------------------------------
    encode_image = pipe._encode_image

    @functools.wraps(encode_image)
    def recording_encode_image(image, *args, **kwargs):
        if isinstance(image, PIL.Image.Image):
            rec.record("clip_input_uint8", np.asarray(image.convert("RGB")))
        elif isinstance(image, list) and len(image) == 1 and isinstance(image[0], PIL.Image.Image):
            rec.record("clip_input_uint8", np.asarray(image[0].convert("RGB")))
        image_embeddings = encode_image(image, *args, **kwargs)
        rec.record("image_embeddings", image_embeddings)
        return image_embeddings

    object.__setattr__(pipe, "_encode_image", recording_encode_image)

    def on_image_encoder_input(module, args, kwargs):
        pixel_values = args[0] if args else kwargs["pixel_values"]
        rec.record("clip_pixel_values", pixel_values)
        return ask_for_hidden_states(module, args, kwargs)

    def on_image_encoder(module, args, output):
        for k, h in enumerate(output.hidden_states):
            rec.record(f"clip_vision.hidden_states.{k}", h)
        rec.record("clip_vision.image_embeds", output.image_embeds)

    pipe.image_encoder.register_forward_pre_hook(on_image_encoder_input, with_kwargs=True)
    pipe.image_encoder.register_forward_hook(on_image_encoder)

    # --- image: VAE branch --------------------------------------------------------------------------------------------
    prepare_image_latents = pipe.prepare_image_latents

    @functools.wraps(prepare_image_latents)
    def recording_prepare_image_latents(image, *args, **kwargs):
        rec.record("vae_input_image", image)
        image_latents = prepare_image_latents(image, *args, **kwargs)
        rec.record("image_latents", image_latents)
        return image_latents

    object.__setattr__(pipe, "prepare_image_latents", recording_prepare_image_latents)

    vae_encode = pipe.vae.encode

    @functools.wraps(vae_encode)
    def recording_vae_encode(x, *args, **kwargs):
        rec.record("vae_encode.input", x)
        result = vae_encode(x, *args, **kwargs)
        dist = result.latent_dist if hasattr(result, "latent_dist") else result[0]
        rec.record("vae_encode.mean", dist.mean)
        rec.record("vae_encode.logvar", dist.logvar)  # already clamped to [-30, 20] by the distribution
        sample = dist.sample

        def recording_sample(generator=None):
            # Draw once through the library, then replay the same draw from the saved RNG state to get the noise
            # exactly (computing (z - mean) / std would lose bits).
            state = generator.get_state() if generator is not None else torch.get_rng_state()
            z = sample(generator)
            state_after = generator.get_state() if generator is not None else torch.get_rng_state()
            replay = torch.Generator()
            replay.set_state(state)
            noise = torch.randn(dist.mean.shape, generator=replay, dtype=dist.parameters.dtype)
            if not torch.equal(replay.get_state(), state_after) or not torch.equal(dist.mean + dist.std * noise, z):
                raise RuntimeError("could not replay the VAE posterior noise; the library's sampling has changed")
            rec.record("vae_encode.sample_noise", noise)
            return z

        dist.sample = recording_sample
        return result

    pipe.vae.encode = recording_vae_encode

    # --- initial noise, UNet calls, scheduler steps --------------------------------------------------------------------
    prepare_latents = pipe.prepare_latents

    @functools.wraps(prepare_latents)
    def recording_prepare_latents(*args, **kwargs):
        latents = prepare_latents(*args, **kwargs)
        rec.record("initial_latents", latents)
        return latents

    object.__setattr__(pipe, "prepare_latents", recording_prepare_latents)

    unet = pipe.unet
    unet_signature = inspect.signature(unet.forward)
    unet_call = {"index": 0}

    def on_unet_input(module, args, kwargs):
        bound = unet_signature.bind(*args, **kwargs)
        n = unet_call["index"]
        for name in ("sample", "timestep", "encoder_hidden_states", "fps", "image_latents", "image_embeddings"):
            rec.record(f"unet.{n}.{name}", bound.arguments[name])

    def on_unet_output(module, args, kwargs, output):
        rec.record(f"unet.{unet_call['index']}.out", first_tensor(output))
        unet_call["index"] += 1

    unet.register_forward_pre_hook(on_unet_input, with_kwargs=True)
    unet.register_forward_hook(on_unet_output, with_kwargs=True)

    def record_first_call(name):
        # A module called twice in one forward (time_proj: timestep, then fps) keeps its last output.
        def hook(module, args, output):
            if unet_call["index"] == 0:
                rec.record(f"unet0.{name}", first_tensor(output), overwrite=True)

        return hook

    for name, child in unet.named_children():
        if isinstance(child, torch.nn.ModuleList):
            for k, block in enumerate(child):
                block.register_forward_hook(record_first_call(f"{name}.{k}"))
        else:
            child.register_forward_hook(record_first_call(name))

    scheduler = pipe.scheduler
    scheduler_step = scheduler.step
    step_index = [0]

    @functools.wraps(scheduler_step)  # keeps the signature: the pipeline inspects it for `eta` and `generator`
    def recording_step(model_output, timestep, sample, *args, **kwargs):
        result = scheduler_step(model_output, timestep, sample, *args, **kwargs)
        n = step_index[0]
        step_index[0] += 1
        rec.record(f"step.{n}.model_output", model_output)
        rec.record(f"step.{n}.sample", sample)
        rec.record(f"step.{n}.timestep", timestep)
        rec.record(f"step.{n}.prev_sample", result.prev_sample if hasattr(result, "prev_sample") else result[0])
        return result

    scheduler.step = recording_step

    # --- decoding -----------------------------------------------------------------------------------------------------
    decode_latents = pipe.decode_latents

    @functools.wraps(decode_latents)
    def recording_decode_latents(latents, *args, **kwargs):
        rec.record("decode.latents", latents)
        video = decode_latents(latents, *args, **kwargs)
        rec.record("decode.video", video)
        return video

    object.__setattr__(pipe, "decode_latents", recording_decode_latents)


def random_image(width, height, seed):
    """A smooth random RGB picture (gradients plus blurred noise) so that resizing has something to do."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    picture = np.empty((height, width, 3))
    for c in range(3):
        a, b, phase = rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3), rng.uniform(0, 2 * np.pi)
        picture[..., c] = 0.5 + 0.35 * np.sin(a * x + b * y + phase)
    noise = rng.uniform(-0.15, 0.15, size=(height, width, 3))
    picture = np.clip(picture + noise, 0, 1)
    return PIL.Image.fromarray((picture * 255).round().astype(np.uint8), "RGB")


def run_case(args, checkpoint: Path, out: Path):
    variant = detect_variant(checkpoint)
    pipe = I2VGenXLPipeline.from_pretrained(str(checkpoint), torch_dtype=torch.float32, variant=variant)
    pipe.to("cpu")
    pipe.set_progress_bar_config(disable=True)
    if args.scheduler is not None:
        # What diffusers users do: pipe.scheduler = Cls.from_config(pipe.scheduler.config, **overrides)
        name, overrides = args.scheduler
        pipe.scheduler = getattr(diffusers, name).from_config(pipe.scheduler.config, **overrides)

    if args.image is not None:
        image = PIL.Image.open(args.image).convert("RGB")
    else:
        image = random_image(args.image_size[0], args.image_size[1], args.seed)

    rec = Recorder()
    instrument(pipe, rec)

    # One seeded CPU stream: the VAE posterior sample uses the global generator, the initial latents the generator
    # passed in (the same default CPU generator), so the VAE noise is drawn first, then the initial latents.
    generator = torch.manual_seed(args.seed)
    with torch.no_grad():
        result = pipe(
            prompt=args.prompt,
            image=image,
            height=args.height,
            width=args.width,
            target_fps=args.fps,
            num_frames=args.num_frames,
            num_inference_steps=args.steps,
            guidance_scale=args.guidance,
            negative_prompt=args.negative_prompt,
            decode_chunk_size=args.decode_chunk_size,
            generator=generator,
            output_type="np",
        )
    frames = np.asarray(result.frames, dtype=np.float32)  # (batch, frames, H, W, 3) in [0, 1]
    rec.record("frames_float", frames)
    # The rounding diffusers applies when it makes PIL frames.
    rec.record("frames_uint8", (frames * 255).round().astype(np.uint8))
    rec.record("timesteps", pipe.scheduler.timesteps)
    rec.record("alphas_cumprod", pipe.scheduler.alphas_cumprod)

    out.mkdir(parents=True, exist_ok=True)
    replace_atomically(out / "input.png", lambda tmp: image.save(tmp, format="PNG"))
    tensors = dict(sorted(rec.tensors.items()))
    replace_atomically(out / "tensors.safetensors", lambda tmp: save_file(tensors, tmp))
    case = {
        "image_size": list(image.size),
        "height": args.height,
        "width": args.width,
        "num_frames": args.num_frames,
        "steps": args.steps,
        "guidance": args.guidance,
        "fps": args.fps,
        "seed": args.seed,
        "decode_chunk_size": args.decode_chunk_size,
        **({"scheduler": {"class": args.scheduler[0], "overrides": args.scheduler[1]}} if args.scheduler else {}),
        "prompt": args.prompt,
        "negative_prompt": args.negative_prompt,
        "input_image": "input.png",
        "checkpoint": os.path.relpath(checkpoint.resolve(), out.resolve()),
        "generator": {
            "diffusers": diffusers.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "tensors": {name: list(t.shape) for name, t in tensors.items()},
    }
    write_json(out / "case.json", case)
    return tensors


# ----------------------------------------------------------------------------------------------------------------------
# Command line.
# ----------------------------------------------------------------------------------------------------------------------

def chunk_size(text):
    if text.lower() in ("none", "null", "all"):
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"decode chunk size must be >= 1 or 'none', got {text}")
    return value


def scheduler_spec(text):
    """NAME[:key=value,...] with diffusers' class name; values are JSON literals (true, 3, 0.5) or plain strings."""
    name, _, rest = text.partition(":")
    if not name.endswith("Scheduler") or not hasattr(diffusers, name):
        raise argparse.ArgumentTypeError(f"--scheduler {text}: {name} is not a diffusers scheduler class")
    overrides = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(f"--scheduler {text}: '{item}' is not key=value")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return name, overrides


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Record an I2VGen-XL conformance reference case with diffusers (CPU, float32).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", required=True, type=Path, help="case folder to write (created if missing)")

    run = p.add_argument_group("pipeline call")
    run.add_argument("--prompt", default="A red fox jumps over a frozen lake at dawn, cinematic")
    run.add_argument("--negative-prompt", default=None, help="omit for none (CFG then uses the empty prompt)")
    img = run.add_mutually_exclusive_group()
    img.add_argument("--image", type=Path, default=None, help="input image (converted to RGB)")
    img.add_argument("--image-size", type=int, nargs=2, metavar=("W", "H"), default=[61, 43],
                     help="size of a generated random input image, used when --image is not given")
    run.add_argument("--height", type=int, default=32)
    run.add_argument("--width", type=int, default=48)
    run.add_argument("--num-frames", type=int, default=4)
    run.add_argument("--steps", type=int, default=3)
    run.add_argument("--guidance", type=float, default=9.0, help="CFG scale; CFG is on when > 1")
    run.add_argument("--fps", type=int, default=16, help="target_fps micro-condition")
    run.add_argument("--seed", type=int, default=8888, help="torch.manual_seed before the call")
    run.add_argument("--decode-chunk-size", type=chunk_size, default=1, help="frames per VAE decode, or 'none'")
    run.add_argument("--scheduler", type=scheduler_spec, default=None,
                     help="swap the scheduler: NAME[:key=value,...], built with NAME.from_config(pipe.scheduler.config, ...)")
    run.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")

    ck = p.add_argument_group("checkpoint")
    ck.add_argument("--checkpoint", type=Path, default=None,
                    help="use this diffusers folder instead of building a random one (fp16 variant detected)")
    ck.add_argument("--fp16-variant", action="store_true",
                    help="save the built checkpoint as *.fp16.safetensors with F16 tensors and tokenizer.json only")
    ck.add_argument("--weights-seed", type=int, default=0, help="seed of the random weights")
    ck.add_argument("--zero-init-std", type=float, default=0.02,
                    help="std of the random values given to zero-initialised parameters")
    ck.add_argument("--tokenizer-source", default=str(DEFAULT_TOKENIZER),
                    help="folder with the CLIP tokenizer (vocab.json + merges.txt) to copy into the checkpoint")
    ck.add_argument("--unet-block-channels", type=int, nargs="+", default=[16, 32])
    ck.add_argument("--unet-down-blocks", nargs="+", default=["CrossAttnDownBlock3D", "DownBlock3D"])
    ck.add_argument("--unet-up-blocks", nargs="+", default=["UpBlock3D", "CrossAttnUpBlock3D"])
    ck.add_argument("--unet-layers-per-block", type=int, default=2)
    ck.add_argument("--unet-attention-head-dim", type=int, default=4)
    ck.add_argument("--unet-norm-groups", type=int, default=8)
    ck.add_argument("--vae-block-channels", type=int, nargs="+", default=[16, 32])
    ck.add_argument("--vae-layers-per-block", type=int, default=1)
    ck.add_argument("--vae-norm-groups", type=int, default=8)
    ck.add_argument("--vae-scaling-factor", type=float, default=0.18125, help="0.18125 is the released value")
    ck.add_argument("--clip-hidden", type=int, default=16,
                    help="width of both CLIP towers = their projection = the UNet's cross-attention width")
    ck.add_argument("--clip-intermediate", type=int, default=32)
    ck.add_argument("--clip-layers", type=int, default=3)
    ck.add_argument("--clip-heads", type=int, default=2)
    ck.add_argument("--clip-image-size", type=int, default=32, help="CLIP input size (crop_size)")
    ck.add_argument("--clip-patch", type=int, default=4)
    args = p.parse_args(argv)

    if args.height % 8 or args.width % 8:
        p.error(f"--height and --width must be multiples of 8, got {args.height} and {args.width}")
    if args.checkpoint is not None and args.fp16_variant:
        p.error("--fp16-variant applies to a built checkpoint; with --checkpoint the variant is detected")
    if args.image is not None and not args.image.is_file():
        p.error(f"--image {args.image}: no such file")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    out = args.out
    if args.checkpoint is not None:
        checkpoint = args.checkpoint
        if not (checkpoint / "model_index.json").is_file():
            raise FileNotFoundError(f"--checkpoint {checkpoint}: no model_index.json (not a diffusers pipeline folder)")
    else:
        checkpoint = out / "checkpoint"
        save_checkpoint(build_components(args), checkpoint, args.fp16_variant, Path(args.tokenizer_source))
        print(f"built checkpoint {checkpoint}")
    tensors = run_case(args, checkpoint, out)
    print(f"recorded {len(tensors)} tensors into {out / 'tensors.safetensors'}")


if __name__ == "__main__":
    sys.exit(main())
