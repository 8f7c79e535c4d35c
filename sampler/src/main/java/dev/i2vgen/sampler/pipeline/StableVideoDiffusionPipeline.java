package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.io.checkpoint.ComponentFolder;
import dev.i2vgen.io.checkpoint.FeatureExtractorConfig;
import dev.i2vgen.io.checkpoint.PipelineLayout;
import dev.i2vgen.io.image.SvdImagePreprocessing;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.model.clip.ClipVisionConfig;
import dev.i2vgen.model.clip.ClipVisionEncoder;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.svd.SpatioTemporalUNet;
import dev.i2vgen.model.svd.SpatioTemporalUNetConfig;
import dev.i2vgen.model.vae.AutoencoderKLTemporalDecoder;
import dev.i2vgen.model.vae.ChunkedFrameDecoder;
import dev.i2vgen.model.vae.TemporalVaeConfig;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.sampler.scheduler.CheckpointScheduler;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.sampler.scheduler.StepGraph;
import dev.i2vgen.sampler.scheduler.NoiseSchedule;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.function.Supplier;
import java.util.Map;

/**
 * diffusers' {@code StableVideoDiffusionPipeline}: wires the components (built from a checkpoint folder) and runs
 * them on one backend in the reference order: CLIP image embedding of the antialiased 224×224 image, VAE latents of the
 * Lanczos-resized, noise-augmented image ({@code latent_dist.mode()}, unscaled), the Euler loop with per-frame
 * classifier-free guidance as one graph per step, decoding in chunks (the temporal decoder mixes frames within a
 * chunk) and the same post-processing as I2VGen-XL. Given two backends, the guided denoising loop runs CFG-parallel
 * ({@link CfgParallelLoop}) and everything else on the first. Random numbers come from one {@link TorchGenerator} seeded like
 * {@code torch.manual_seed(seed)}: the augmentation noise first, then the initial latents. The denoising step's plan
 * and (where it fits in memory) the decoder's are built ahead, beside the earlier stages ({@link PlansAhead}).
 * A pipeline from {@link #fromPretrained} owns its weight mappings: close it (before its backend) when done.
 */
public final class StableVideoDiffusionPipeline implements VideoPipeline {
    /** diffusers resizes the CLIP input to 224×224 whatever the feature extractor says. */
    static final int CLIP_SIZE = 224;

    private final ClipVisionEncoder imageEncoder;
    private final ClipImagePreprocessor clipNormalizer;
    private final AutoencoderKLTemporalDecoder vae;
    private final SpatioTemporalUNet unet;
    private final CheckpointScheduler scheduler;
    private final Backend backend;
    /** The backend, or two for CFG-parallel denoising ({@link PipelineDevices}). */
    private final List<Backend> devices;
    private final DType activation;
    /** Weight mappings opened by {@link #fromPretrained}; none when the caller supplied the components. */
    private final OwnedWeights ownedWeights;
    private final AheadPlanTimes aheadTimes = new AheadPlanTimes();

    public StableVideoDiffusionPipeline(ClipVisionEncoder imageEncoder, FeatureExtractorConfig featureExtractor,
                                        AutoencoderKLTemporalDecoder vae, SpatioTemporalUNet unet,
                                        CheckpointScheduler scheduler, Backend backend, DType activation) {
        this(imageEncoder, featureExtractor, vae, unet, scheduler, List.of(backend), activation);
    }

    /** On one backend, or two: the guided denoising loop CFG-parallel (a half of the guidance batch on each). */
    public StableVideoDiffusionPipeline(ClipVisionEncoder imageEncoder, FeatureExtractorConfig featureExtractor,
                                        AutoencoderKLTemporalDecoder vae, SpatioTemporalUNet unet,
                                        CheckpointScheduler scheduler, List<Backend> devices, DType activation) {
        this(imageEncoder, featureExtractor, vae, unet, scheduler, devices, activation, OwnedWeights.none());
    }

    private StableVideoDiffusionPipeline(ClipVisionEncoder imageEncoder, FeatureExtractorConfig featureExtractor,
                                         AutoencoderKLTemporalDecoder vae, SpatioTemporalUNet unet,
                                         CheckpointScheduler scheduler, List<Backend> devices, DType activation,
                                         OwnedWeights ownedWeights) {
        this.imageEncoder = imageEncoder;
        this.clipNormalizer = new ClipImagePreprocessor(featureExtractor);
        this.vae = vae;
        this.unet = unet;
        this.scheduler = scheduler;
        this.devices = PipelineDevices.check(devices);
        this.backend = this.devices.get(0);
        this.activation = activation;
        this.ownedWeights = ownedWeights;
    }

    /**
     * Builds every component from a diffusers checkpoint folder (validated first: every config and safetensors
     * header). {@code dtype} F16/BF16 prefers the {@code fp16} weight variant and computes in that precision; F32
     * prefers the full-precision files. Weights stay memory-mapped.
     */
    public static StableVideoDiffusionPipeline fromPretrained(Path dir, Backend backend, DType dtype) {
        return fromPretrained(dir, List.of(backend), dtype);
    }

    /** As {@link #fromPretrained(Path, Backend, DType)} on one backend, or two: the guided denoising loop CFG-parallel. */
    public static StableVideoDiffusionPipeline fromPretrained(Path dir, List<Backend> devices, DType dtype) {
        PipelineDevices.check(devices);
        return fromPretrained(CheckpointFolder.open(dir), () -> devices, dtype);
    }

    /**
     * As {@link #fromPretrained(Path, List, DType)} for a checkpoint folder already opened (validated here unless it
     * was), on backends that may still be starting: {@code devices} is asked once, after the weights are mapped.
     */
    public static StableVideoDiffusionPipeline fromPretrained(CheckpointFolder checkpoint, Supplier<List<Backend>> devices, DType dtype) {
        CheckpointFolder ckpt = checkpoint.validate(PipelineLayout.STABLE_VIDEO_DIFFUSION);
        ComponentFolder ie = ckpt.component("image_encoder"), va = ckpt.component("vae"), un = ckpt.component("unet");
        return OwnedWeights.buildWith(dtype, weights -> {
            SafetensorsSource ieW = weights.open(ie), vaW = weights.open(va), unW = weights.open(un);
            ClipVisionEncoder imageEncoder = new ClipVisionEncoder(ClipVisionConfig.load(ie.configFile()), ieW);
            AutoencoderKLTemporalDecoder vae = new AutoencoderKLTemporalDecoder(TemporalVaeConfig.load(va.configFile()), vaW);
            SpatioTemporalUNet unet = new SpatioTemporalUNet(SpatioTemporalUNetConfig.load(un.configFile()), unW);
            CheckpointScheduler scheduler = CheckpointScheduler.read(ckpt.component("scheduler").configFile());
            return new StableVideoDiffusionPipeline(imageEncoder, ckpt.featureExtractorConfig(), vae, unet, scheduler,
                    devices.get(), dtype, weights);
        });
    }

    @Override
    public String pipelineClass() { return "StableVideoDiffusionPipeline"; }

    @Override
    public List<dev.i2vgen.backend.SetupWork> setupWork() { return aheadTimes.setupWork(); }

    /** The UNet's trained frame count: the default {@code num_frames}. */
    public int defaultFrames() { return unet.config().numFrames(); }

    /** Releases the weight mappings this pipeline opened; tensors read from them become invalid. */
    @Override
    public void close() { ownedWeights.close(); }

    /** The mappings {@link #close} releases (tests). */
    List<SafetensorsSource> ownedWeights() { return ownedWeights.sources(); }

    /** The checkpoint's scheduler description (each run builds a fresh scheduler from it). */
    public CheckpointScheduler checkpointScheduler() { return scheduler; }

    /**
     * What a run can refuse, checked before any work: the scheduler (diffusers' SVD pipeline passes no η to the step)
     * and the sizes; a refusal is an {@link InvalidRequestException}.
     */
    private Scheduler check(SvdGenerationRequest req, int frames) {
        try {
            Scheduler s = scheduler.forRun(req.scheduler(), req.steps(), 0.0);
            if (!s.stepsOnDevice()) throw new InvalidRequestException(s.className() + ": this configuration has no step"
                    + " graph (dynamic thresholding), which the Stable Video Diffusion pipeline needs");
            GenerationSizes.check(hostArrays(req.classifierFreeGuidance(), vae.config().latentChannels(),
                    vae.config().downsampleFactor()), req.height(), req.width(), frames);
            return s;
        } catch (InvalidRequestException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(e.getMessage(), e);
        }
    }

    /** The host arrays of a run ({@link GenerationSizes}): the resized image and VAE input, the latents, the decoded video. */
    static GenerationSizes.Layout hostArrays(boolean cfg, int latentChannels, int vaeScale) {
        return (height, width, frames) -> {
            long h = height / vaeScale, w = width / vaeScale;
            List<GenerationSizes.HostArray> arrays = new ArrayList<>(List.of(
                    new GenerationSizes.HostArray("the input image resized for the VAE", "U8", new long[]{height, width, 3}, 1, 1, false),
                    new GenerationSizes.HostArray("the VAE input", "F32", new long[]{1, 3, height, width}, 4, 1, false),
                    new GenerationSizes.HostArray("the image latents", "F32", new long[]{cfg ? 2 : 1, frames, latentChannels, h, w}, 4, 1, false)));
            arrays.addAll(GenerationSizes.decoded("video", height, width, frames));
            return arrays;
        };
    }

    public GeneratedVideo generate(SvdGenerationRequest req) { return generate(req, PipelineListener.NONE); }

    /** {@link VideoPipeline}: takes an {@link SvdGenerationRequest}; another model's request is an error naming both. */
    @Override
    public GeneratedVideo generate(VideoRequest request, PipelineListener listener) {
        if (!(request instanceof SvdGenerationRequest req)) {
            throw new IllegalArgumentException("StableVideoDiffusionPipeline takes an SvdGenerationRequest (an image, no prompt), got a "
                    + request.getClass().getSimpleName());
        }
        return generate(req, listener);
    }

    /**
     * Runs the pipeline; a request it refuses is an {@link InvalidRequestException} before any work, and a failure
     * while a weight file was truncated under it names that file ({@link OwnedWeights#throwIfTruncated}).
     */
    public GeneratedVideo generate(SvdGenerationRequest req, PipelineListener listener) {
        if (ownedWeights.isClosed()) throw new IllegalStateException("StableVideoDiffusionPipeline: generate() after close(): its weight mappings are released");
        try {
            return run(req, CancellableListener.wrap(listener));
        } catch (RuntimeException | Error e) {
            ownedWeights.throwIfTruncated(e);
            throw e;
        }
    }

    private GeneratedVideo run(SvdGenerationRequest req, PipelineListener listener) {
        int frames = req.numFrames() != null ? req.numFrames() : defaultFrames();
        boolean cfg = req.classifierFreeGuidance(), wants = listener.wantsTensors();
        int batch = cfg ? 2 : 1;
        Scheduler scheduler = check(req, frames);
        float initNoiseSigma = scheduler.initNoiseSigma();   // read before the step graph is built beside this thread
        long seed = req.seed() != null ? req.seed() : new java.security.SecureRandom().nextLong() & 0xffffffffL;
        TorchGenerator generator = new TorchGenerator(seed);
        int scale = vae.config().downsampleFactor();
        int h = req.height() / scale, w = req.width() / scale, c = vae.config().latentChannels();
        int[] shape = {1, frames, c, h, w};
        int chunkSize = req.decodeChunkSize() != null ? req.decodeChunkSize() : frames;
        boolean split = cfg && devices.size() == 2;

        // plans built ahead, not beside CFG-parallel's (two devices, their plans built by CfgParallelLoop)
        try (PlansAhead plans = PlansAhead.forRun(backend, !split, aheadTimes);
             AutoencoderKLTemporalDecoder.FrameDecoder decoder = vae.frameDecoder(backend, activation)) {
            PlansAhead.Ahead<SvdDenoiseStepGraph> stepPlan = scheduler.timesteps().length == 0 || split ? null
                    : plans.start("denoise", () -> SvdDenoiseStepGraph.build(unet, shape, 1, cfg, scheduler, activation, wants),
                            SvdDenoiseStepGraph::graph);

            listener.stage("encode image");
            Tensor imageEmbeddings = encodeImage(req, cfg, listener, plans);
            NonFiniteWatch.requireFinite(imageEmbeddings, "encode image", "the image embeddings", NonFiniteHints.component(activation, "the image encoder"));
            Tensor imageLatents = imageLatents(req, cfg, frames, generator, listener);
            NonFiniteWatch.requireFinite(imageLatents, "encode image", "the image latents", NonFiniteHints.component(activation, "the VAE encoder"));
            Tensor addedTimeIds = addedTimeIds(req, batch);
            emit(listener, "added_time_ids", addedTimeIds);

            Tensor latents = HostTensors.scaled(generator.randnTensor(shape), initNoiseSigma);
            emit(listener, "initial_latents", latents);

            // the decoder's first chunk plan beside the denoising loop, where it fits in what the image encoder gave back
            // (the default 8 frames at 576x1024 need ~5.7 GiB: more, so SVD-XT's is built by the decode stage)
            int[] chunk = ChunkedFrameDecoder.chunkShapes(frames, c, h, w, chunkSize).getFirst();
            PlansAhead.Ahead<ImmutableTaskGraph> decodePlan = plans.start("decode", () -> decoder.chunkGraph(chunk).freeze(), g -> g,
                    plans::fitsReleased);
            listener.stage("denoise");
            latents = denoise(req, frames, scheduler, generator, latents, imageLatents, imageEmbeddings, addedTimeIds, listener,
                    plans, stepPlan);

            listener.stage("decode");
            emit(listener, "decode.latents", latents);
            decoder.adopt(plans.take(decodePlan).plan());
            // each chunk is checked and post-processed as it arrives, its frames told to the listener (a video encoder)
            FramePostprocessor.Streamed streamed = new FramePostprocessor.Streamed(listener::frame, rows -> NonFiniteWatch.requireFinite(rows,
                    "decode", "the decoded frames", NonFiniteHints.component(activation, "the VAE decoder")));
            Tensor decoded = decoder.decodeVideoFrames(latents, chunkSize, streamed);   // [F, 3, H, W], frame-major as decoded
            if (listener.wantsTensors()) emit(listener, "decode.video", ChunkedFrameDecoder.videoLayout(decoded, 1));
            FramePostprocessor.Frames out = streamed.frames(decoded);
            emit(listener, "frames_float", out.floats());
            return new GeneratedVideo(out.images(), out.floats(), seed);
        }
    }

    /** CLIP image embedding [B, 1, D] of the raw image (no crop); zeros for the unconditional half. */
    private Tensor encodeImage(SvdGenerationRequest req, boolean cfg, PipelineListener listener, PlansAhead plans) {
        Tensor pixels = clipNormalizer.normalize(SvdImagePreprocessing.clipPixels(req.image(), CLIP_SIZE));
        emit(listener, "clip_pixel_values", pixels);
        Tensor embeds;
        ImmutableTaskGraph graph;
        try (CompiledStage stage = imageEncoder.compile(backend, pixels.dim(0), activation)) {
            embeds = ClipVisionEncoder.run(stage, pixels);
            graph = stage.graph();
        }
        plans.release(graph);   // not run again in this generation: its weights' room serves the plans built ahead
        emit(listener, "clip_vision.image_embeds", embeds);
        Tensor e = roundedToActivation(embeds.reshape(1, 1, embeds.dim(-1)));
        return cfg ? HostTensors.concatBatch(HostTensors.zerosLike(e), e) : e;
    }

    /**
     * The VAE latent of the noise-augmented image, {@code latent_dist.mode()} unscaled, repeated over the frames:
     * [B, F, C, h, w]; zeros for the unconditional half. Encoded in float32 when the VAE asks to be upcast
     * ({@code force_upcast}, as the released SVD VAE does).
     */
    private Tensor imageLatents(SvdGenerationRequest req, boolean cfg, int frames, TorchGenerator generator, PipelineListener listener) {
        Tensor pixels = SvdImagePreprocessing.vaePixels(req.image(), req.width(), req.height());
        float[] x = pixels.toFloatArray();
        float[] noise = generator.randn(pixels.shape());
        float strength = (float) req.noiseAugStrength();
        for (int i = 0; i < x.length; i++) x[i] = x[i] + strength * noise[i];
        Tensor input = Tensor.fromFloats(x, pixels.shape());
        emit(listener, "vae_encode.input", input);
        DType encodePrecision = vae.config().forceUpcast() ? DType.F32 : activation;
        Tensor mode = vae.encode(backend, input, encodePrecision).mode();
        emit(listener, "vae_encode.mode", mode);
        Tensor latent = roundedToActivation(mode);   // image_latents.to(image_embeddings.dtype)
        int c = latent.dim(1), h = latent.dim(2), w = latent.dim(3), plane = c * h * w;
        float[] one = latent.toFloatArray();
        int batch = cfg ? 2 : 1;
        float[] out = new float[batch * frames * plane];
        for (int f = 0; f < frames; f++) System.arraycopy(one, 0, out, ((batch - 1) * frames + f) * plane, plane);
        return Tensor.fromFloats(out, batch, frames, c, h, w);
    }

    /** [fps − 1, motion_bucket_id, noise_aug_strength] per batch row, in the activation dtype as diffusers makes them. */
    private Tensor addedTimeIds(SvdGenerationRequest req, int batch) {
        float[] ids = new float[3 * batch];
        for (int r = 0; r < batch; r++) {
            ids[3 * r] = req.fps() - 1;
            ids[3 * r + 1] = req.motionBucketId();
            ids[3 * r + 2] = (float) req.noiseAugStrength();
        }
        return roundedToActivation(Tensor.fromFloats(ids, batch, 3));
    }

    private Tensor denoise(SvdGenerationRequest req, int frames, Scheduler scheduler, TorchGenerator generator,
                           Tensor latents, Tensor imageLatents, Tensor context, Tensor addedTimeIds, PipelineListener listener,
                           PlansAhead plans, PlansAhead.Ahead<SvdDenoiseStepGraph> stepPlan) {
        float[] timesteps = scheduler.timesteps();
        if (timesteps.length == 0) return latents;
        boolean cfg = req.classifierFreeGuidance(), wants = listener.wantsTensors();
        int batch = cfg ? 2 : 1;
        if (!cfg) PipelineDevices.noteFirstDeviceOnly(devices, "guidance is off (max guidance <= 1), there is no guidance"
                + " batch to split: the denoising runs on the first device only");
        if (cfg && devices.size() == 2) {
            CfgParallelGraphs graphs = SvdDenoiseStepGraph.buildCfgParallel(unet, latents.shape(), context.dim(1), scheduler,
                    activation, wants);
            Tensor guidance = perFrameGuidance(req, frames);
            CfgParallelLoop.HalfBinding halves = (plan, half) -> {
                plan.bind(SvdDenoiseStepGraph.IMAGE_LATENTS, item(imageLatents, half));
                plan.bind(SpatioTemporalUNet.ENCODER_HIDDEN_STATES, item(context, half));
                plan.bind(SpatioTemporalUNet.ADDED_TIME_IDS, item(addedTimeIds, half));
            };
            try (CfgParallelLoop loop = new CfgParallelLoop(devices, graphs, halves, plan -> plan.bind(SvdDenoiseStepGraph.GUIDANCE, guidance),
                    latents, plan -> denoiseWatch(plan, req, timesteps))) {
                return loop.run(timesteps, 0, generator, i -> Map.of(SpatioTemporalUNet.TIMESTEP, HostTensors.filled(1, timesteps[i])),
                        latents, wants ? (i, t, sample, plan) -> emitStep(listener, i, t, sample, plan) : null,
                        (i, t) -> listener.step(i, timesteps.length, t));
            }
        }
        PlansAhead.Built<SvdDenoiseStepGraph> built = plans.take(stepPlan);   // built for the latents' shape, one context token
        SvdDenoiseStepGraph step = built.spec();
        StepGraph update = step.scheduler();
        try (ExecutionPlan plan = built.plan()) {
            plan.bind(SvdDenoiseStepGraph.IMAGE_LATENTS, imageLatents);
            plan.bind(SpatioTemporalUNet.ENCODER_HIDDEN_STATES, context);
            plan.bind(SpatioTemporalUNet.ADDED_TIME_IDS, addedTimeIds);
            plan.bind(SvdDenoiseStepGraph.LATENTS, latents);
            if (cfg) plan.bind(SvdDenoiseStepGraph.GUIDANCE, perFrameGuidance(req, frames));
            update.initialState().forEach(plan::bind);
            NonFiniteWatch watch = denoiseWatch(plan, req, timesteps);
            var graph = step.graph();
            for (int i = 0; i < timesteps.length; i++) {
                float t = timesteps[i];
                Map<Value, Tensor> perStep = new HashMap<>();
                perStep.put(graph.input(SpatioTemporalUNet.TIMESTEP), HostTensors.filled(batch, t));
                update.inputs(i, generator).forEach((name, value) -> perStep.put(graph.input(name), value));
                watch.step(perStep, i);
                plan.execute(perStep);
                if (wants) {
                    latents = emitStep(listener, i, t, latents, plan);
                    watch.check();
                }
                plan.copy(SvdDenoiseStepGraph.NEXT_LATENTS, SvdDenoiseStepGraph.LATENTS);
                watch.carry();
                update.afterStep(plan, i);
                listener.step(i, timesteps.length, t);
            }
            watch.check();
            return plan.read(SvdDenoiseStepGraph.NEXT_LATENTS);
        }
    }

    /** The non-finite watch of a denoising step plan, its hints naming the larger guidance option. */
    private NonFiniteWatch denoiseWatch(ExecutionPlan plan, SvdGenerationRequest req, float[] timesteps) {
        boolean maxIsLarger = req.maxGuidance() >= req.minGuidance();
        return new NonFiniteWatch(plan, "denoise", "the latents", timesteps.length, i -> timesteps[i],
                NonFiniteHints.denoising(activation, maxIsLarger ? "--max-guidance" : "--min-guidance",
                        Math.max(req.maxGuidance(), req.minGuidance()), req.classifierFreeGuidance()));
    }

    /** Step i's intermediates from the plan that ran it ({@code sample}: the latents before it); returns the new latents. */
    private static Tensor emitStep(PipelineListener listener, int i, float t, Tensor sample, ExecutionPlan plan) {
        Tensor next = plan.read(SvdDenoiseStepGraph.NEXT_LATENTS);
        Tensor ts = Tensor.fromFloats(new float[]{t}, 1);
        emit(listener, "unet." + i + ".timestep", ts);
        emit(listener, "unet." + i + ".out", plan.read(SvdDenoiseStepGraph.UNET_OUT));
        emit(listener, "step." + i + ".timestep", ts);
        emit(listener, "step." + i + ".model_output", plan.read(SvdDenoiseStepGraph.MODEL_OUTPUT));
        emit(listener, "step." + i + ".sample", sample);
        emit(listener, "step." + i + ".prev_sample", next);
        return next;
    }

    /** Batch item {@code i} (CFG-parallel: 0 the unconditional half, 1 the conditional one). */
    private static Tensor item(Tensor t, int i) { return t.slice(0, i, i + 1).contiguous(); }

    /** linspace(min, max, F) as torch computes it in float32, in the latents' dtype, shaped [1, F, 1, 1, 1]. */
    private Tensor perFrameGuidance(SvdGenerationRequest req, int frames) {
        float[] g = NoiseSchedule.torchLinspace(req.minGuidance(), req.maxGuidance(), frames);
        return roundedToActivation(Tensor.fromFloats(g, 1, frames, 1, 1, 1));
    }

    /** The host values rounded to the activation dtype (F32 storage), where diffusers casts a tensor to the model's dtype. */
    private Tensor roundedToActivation(Tensor t) {
        return activation == DType.F32 ? t : t.to(activation).to(DType.F32);
    }

    private static void emit(PipelineListener l, String name, Tensor t) {
        if (l.wantsTensors()) l.tensor(name, t);
    }
}
