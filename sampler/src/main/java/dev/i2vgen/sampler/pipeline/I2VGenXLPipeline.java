package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.concurrent.Futures;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.io.checkpoint.ComponentFolder;
import dev.i2vgen.io.checkpoint.FeatureExtractorConfig;
import dev.i2vgen.io.checkpoint.PipelineLayout;
import dev.i2vgen.io.image.CenterCropWide;
import dev.i2vgen.io.image.PipelineImagePreprocessing;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.io.tokenizer.ClipTokenizer;
import dev.i2vgen.io.tokenizer.TokenizedText;
import dev.i2vgen.model.clip.ClipTextConfig;
import dev.i2vgen.model.clip.ClipTextEncoder;
import dev.i2vgen.model.clip.ClipVisionConfig;
import dev.i2vgen.model.clip.ClipVisionEncoder;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.unet.I2VGenXLUNet;
import dev.i2vgen.model.unet.UNetConfig;
import dev.i2vgen.model.vae.AutoencoderKL;
import dev.i2vgen.model.vae.ChunkedFrameDecoder;
import dev.i2vgen.model.vae.LatentDistribution;
import dev.i2vgen.model.vae.VaeConfig;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.sampler.scheduler.CheckpointScheduler;
import dev.i2vgen.sampler.scheduler.DdimScheduler;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.sampler.scheduler.StepGraph;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.Map;

/**
 * diffusers' {@code I2VGenXLPipeline}: wires the components (built from a checkpoint folder) and runs
 * them on one backend in the reference order: prompt encoding, CLIP image embedding, VAE image
 * latents, the denoising loop with classifier-free guidance (the checkpoint's scheduler, DDIM for the released
 * model, or the one the request names), chunked decoding and post-processing. Given two backends, the guided
 * denoising loop runs CFG-parallel ({@link CfgParallelLoop}) and everything else on the first.
 * Random numbers come from one {@link TorchGenerator} seeded like {@code torch.manual_seed(seed)}:
 * the VAE posterior sample first, then the initial latents, then the scheduler's noise per step.
 * The denoising step's plan, the image encoder's and the decoder's are built ahead, beside the earlier stages, where
 * the backend allows it ({@link PlansAhead}).
 * A pipeline from {@link #fromPretrained} owns its weight mappings: close it (before its backend) when done.
 */
public final class I2VGenXLPipeline implements VideoPipeline {
    private static final System.Logger LOG = System.getLogger(I2VGenXLPipeline.class.getName());

    private final ClipTokenizer tokenizer;
    private final ClipTextEncoder textEncoder;
    private final ClipVisionEncoder imageEncoder;
    private final ClipImagePreprocessor imagePreprocessor;
    private final AutoencoderKL vae;
    private final I2VGenXLUNet unet;
    private final CheckpointScheduler scheduler;
    private final Backend backend;
    /** The backend, or two for CFG-parallel denoising ({@link PipelineDevices}). */
    private final List<Backend> devices;
    private final DType activation;
    /** Weight mappings opened by {@link #fromPretrained}; none when the caller supplied the components. */
    private final OwnedWeights ownedWeights;
    private final AheadPlanTimes aheadTimes = new AheadPlanTimes();

    public I2VGenXLPipeline(ClipTokenizer tokenizer, ClipTextEncoder textEncoder, ClipVisionEncoder imageEncoder,
                            FeatureExtractorConfig featureExtractor, AutoencoderKL vae, I2VGenXLUNet unet,
                            CheckpointScheduler scheduler, Backend backend, DType activation) {
        this(tokenizer, textEncoder, imageEncoder, featureExtractor, vae, unet, scheduler, List.of(backend), activation);
    }

    /** On one backend, or two: the guided denoising loop CFG-parallel (a half of the guidance batch on each). */
    public I2VGenXLPipeline(ClipTokenizer tokenizer, ClipTextEncoder textEncoder, ClipVisionEncoder imageEncoder,
                            FeatureExtractorConfig featureExtractor, AutoencoderKL vae, I2VGenXLUNet unet,
                            CheckpointScheduler scheduler, List<Backend> devices, DType activation) {
        this(tokenizer, textEncoder, imageEncoder, featureExtractor, vae, unet, scheduler, devices, activation,
                OwnedWeights.none());
    }

    private I2VGenXLPipeline(ClipTokenizer tokenizer, ClipTextEncoder textEncoder, ClipVisionEncoder imageEncoder,
                             FeatureExtractorConfig featureExtractor, AutoencoderKL vae, I2VGenXLUNet unet,
                             CheckpointScheduler scheduler, List<Backend> devices, DType activation, OwnedWeights ownedWeights) {
        TokenizerTextEncoderMatch.require(tokenizer, textEncoder.config());
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.imageEncoder = imageEncoder;
        this.imagePreprocessor = new ClipImagePreprocessor(featureExtractor);
        this.vae = vae;
        this.unet = unet;
        this.scheduler = scheduler;
        this.devices = PipelineDevices.check(devices);
        this.backend = this.devices.get(0);
        this.activation = activation;
        this.ownedWeights = ownedWeights;
    }

    /**
     * Builds every component from a diffusers checkpoint folder (validated first: every config and
     * safetensors header). {@code dtype} F16/BF16 prefers the {@code fp16} weight variant and computes
     * in that precision; F32 prefers the full-precision files. Weights stay memory-mapped.
     */
    public static I2VGenXLPipeline fromPretrained(Path dir, Backend backend, DType dtype) {
        return fromPretrained(dir, List.of(backend), dtype);
    }

    /** As {@link #fromPretrained(Path, Backend, DType)} on one backend, or two: the guided denoising loop CFG-parallel. */
    public static I2VGenXLPipeline fromPretrained(Path dir, List<Backend> devices, DType dtype) {
        PipelineDevices.check(devices);
        return fromPretrained(CheckpointFolder.open(dir), () -> devices, dtype);
    }

    /**
     * As {@link #fromPretrained(Path, List, DType)} for a checkpoint folder already opened (validated here unless it
     * was), on backends that may still be starting: {@code devices} is asked once, after the weights are mapped, so
     * that a caller can start the device beside the mapping (the command line does). The tokenizer's vocabulary and
     * merges are parsed beside the mapping.
     */
    public static I2VGenXLPipeline fromPretrained(CheckpointFolder checkpoint, Supplier<List<Backend>> devices, DType dtype) {
        CheckpointFolder ckpt = checkpoint.validate(PipelineLayout.I2VGEN_XL);
        CompletableFuture<ClipTokenizer> tokenizer = CompletableFuture.supplyAsync(() -> ClipTokenizer.fromFolder(ckpt.component("tokenizer").dir()));
        ComponentFolder te = ckpt.component("text_encoder");
        ComponentFolder ie = ckpt.component("image_encoder");
        ComponentFolder va = ckpt.component("vae");
        ComponentFolder un = ckpt.component("unet");
        return OwnedWeights.buildWith(dtype, weights -> {
            SafetensorsSource teW = weights.open(te), ieW = weights.open(ie), vaW = weights.open(va), unW = weights.open(un);
            ClipTextEncoder textEncoder = new ClipTextEncoder(ClipTextConfig.load(te.configFile()), teW);
            ClipVisionEncoder imageEncoder = new ClipVisionEncoder(ClipVisionConfig.load(ie.configFile()), ieW);
            AutoencoderKL vae = new AutoencoderKL(VaeConfig.load(va.configFile()), vaW);
            I2VGenXLUNet unet = new I2VGenXLUNet(UNetConfig.load(un.configFile()), unW);
            CheckpointScheduler scheduler = CheckpointScheduler.read(ckpt.component("scheduler").configFile());
            ClipTokenizer tok = Futures.join(tokenizer);   // its failure as thrown while parsing
            return new I2VGenXLPipeline(tok, textEncoder, imageEncoder, ckpt.featureExtractorConfig(), vae, unet, scheduler,
                    devices.get(), dtype, weights);
        });
    }

    /** Releases the weight mappings this pipeline opened; tensors read from them become invalid. */
    @Override
    public void close() { ownedWeights.close(); }

    /** The mappings {@link #close} releases (tests). */
    List<SafetensorsSource> ownedWeights() { return ownedWeights.sources(); }

    @Override
    public String pipelineClass() { return "I2VGenXLPipeline"; }

    @Override
    public List<dev.i2vgen.backend.SetupWork> setupWork() { return aheadTimes.setupWork(); }

    /** The checkpoint's scheduler description (each run builds a fresh scheduler from it). */
    public CheckpointScheduler checkpointScheduler() { return scheduler; }

    public GeneratedVideo generate(GenerationRequest req) { return generate(req, PipelineListener.NONE); }

    /** {@link VideoPipeline}: takes a {@link GenerationRequest}; another model's request is an error naming both. */
    @Override
    public GeneratedVideo generate(VideoRequest request, PipelineListener listener) {
        if (!(request instanceof GenerationRequest req)) {
            throw new IllegalArgumentException("I2VGenXLPipeline takes a GenerationRequest (image + prompt), got a "
                    + request.getClass().getSimpleName());
        }
        return generate(req, listener);
    }

    /**
     * Runs the pipeline; a request it refuses is an {@link InvalidRequestException} before any work, and a failure
     * while a weight file was truncated under it names that file ({@link OwnedWeights#throwIfTruncated}).
     */
    public GeneratedVideo generate(GenerationRequest req, PipelineListener listener) {
        if (ownedWeights.isClosed()) throw new IllegalStateException("I2VGenXLPipeline: generate() after close(): its weight mappings are released");
        try {
            return run(req, CancellableListener.wrap(listener));
        } catch (RuntimeException | Error e) {
            ownedWeights.throwIfTruncated(e);
            throw e;
        }
    }

    /** What a run can refuse, checked before any work: the scheduler (and I4VGen's needs of it) and the sizes. */
    private record CheckedRun(Scheduler scheduler, DdimScheduler ddim, int first, int niVsds) {}

    private CheckedRun check(GenerationRequest req) {
        try {
            Scheduler scheduler = this.scheduler.forRun(req.scheduler(), req.steps(), req.eta());
            I4VGenOptions i4vgen = req.i4vgen();
            DdimScheduler ddim = i4vgen == null ? null : NiVsdsLoop.requireDdim(scheduler);
            int steps = scheduler.timesteps().length;
            GenerationSizes.check(hostArrays(req, vae.config().latentChannels(), unet.config().inChannels(),
                    vae.config().downsampleFactor()), req.height(), req.width(), req.numFrames());
            return new CheckedRun(scheduler, ddim, i4vgen == null ? 0 : i4vgen.regenerationStart(steps),
                    i4vgen == null ? 0 : i4vgen.iterations(steps));
        } catch (InvalidRequestException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidRequestException(e.getMessage(), e);
        }
    }

    /**
     * The host arrays of a run ({@link GenerationSizes}): the input image scaled to cover the CLIP square (side = the
     * width) and the VAE frame, the VAE input, the latents, and the decoded video (and I4VGen's decoded NI-VSDS result).
     */
    static GenerationSizes.Layout hostArrays(GenerationRequest req, int vaeLatentChannels, int unetInChannels, int vaeScale) {
        RgbImage image = req.image();
        boolean cfg = req.classifierFreeGuidance(), intermediate = req.i4vgen() != null && req.i4vgen().decodeIntermediate();
        return (height, width, frames) -> {
            long[] clip = CenterCropWide.scaledSize(image.width(), image.height(), width, width);
            long[] vaeImage = CenterCropWide.scaledSize(image.width(), image.height(), width, height);
            long h = height / vaeScale, w = width / vaeScale;
            List<GenerationSizes.HostArray> arrays = new ArrayList<>(List.of(
                    new GenerationSizes.HostArray("the input image scaled for CLIP", "U8", new long[]{clip[1], clip[0], 3}, 1, 1, false),
                    new GenerationSizes.HostArray("the CLIP crop", "U8", new long[]{width, width, 3}, 1, 1, false),
                    new GenerationSizes.HostArray("the input image scaled for the VAE", "U8", new long[]{vaeImage[1], vaeImage[0], 3}, 1, 1, false),
                    new GenerationSizes.HostArray("the VAE input", "F32", new long[]{1, 3, height, width}, 4, 1, false),
                    new GenerationSizes.HostArray("the image latents", "F32", new long[]{cfg ? 2 : 1, vaeLatentChannels, frames, h, w}, 4, 1, false),
                    new GenerationSizes.HostArray("the latents", "F32", new long[]{1, unetInChannels, frames, h, w}, 4, 1, false)));
            arrays.addAll(GenerationSizes.decoded("video", height, width, frames));
            if (intermediate) arrays.addAll(GenerationSizes.decoded("NI-VSDS result", height, width, frames));
            return arrays;
        };
    }

    private GeneratedVideo run(GenerationRequest req, PipelineListener listener) {
        boolean cfg = req.classifierFreeGuidance(), wants = listener.wantsTensors();
        CheckedRun checked = check(req);   // everything a run can refuse is checked before any work
        Scheduler scheduler = checked.scheduler();
        I4VGenOptions i4vgen = req.i4vgen();
        DdimScheduler ddim = checked.ddim();
        float[] timesteps = scheduler.timesteps();
        float initNoiseSigma = scheduler.initNoiseSigma();   // read before the step graph is built beside this thread
        int steps = timesteps.length;
        int first = checked.first();
        int niVsds = checked.niVsds();
        long seed = req.seed() != null ? req.seed() : new java.security.SecureRandom().nextLong() & 0xffffffffL;
        TorchGenerator generator = new TorchGenerator(seed);
        int scale = vae.config().downsampleFactor(); // 2^(VAE levels − 1): 8 for the released VAE
        int[] shape = {1, unet.config().inChannels(), req.numFrames(), req.height() / scale, req.width() / scale};
        boolean split = cfg && devices.size() == 2;

        // plans built ahead, not beside I4VGen's loops (NI-VSDS's own UNet plan would double the UNet's memory) nor
        // CFG-parallel's (two devices, their plans built by CfgParallelLoop); the host-stepped loop builds its own
        try (PlansAhead plans = PlansAhead.forRun(backend, i4vgen == null && !split, aheadTimes);
             AutoencoderKL.FrameDecoder decoder = vae.frameDecoder(backend, activation)) {
            // in the order the stages run (the image encoder's uploads before the UNet's)
            PlansAhead.Ahead<ImmutableTaskGraph> clipPlan = plans.start("encode image", () -> imageEncoder.graph(1, activation).freeze(), g -> g);
            PlansAhead.Ahead<DenoiseStepGraph> stepPlan = !scheduler.stepsOnDevice() || steps == 0 || split ? null
                    : plans.start("denoise", () -> DenoiseStepGraph.build(unet, shape, tokenizer.maxLength(), cfg, (float) req.guidance(),
                            scheduler, req.eta(), activation, wants), DenoiseStepGraph::graph);

            listener.stage("encode prompt");
            Tensor text = encodePrompt(req, cfg, listener, plans);
            NonFiniteWatch.requireFinite(text, "encode prompt", "the prompt embeddings", NonFiniteHints.component(activation, "the text encoder"));

            listener.stage("encode image");
            Tensor imageEmbeddings = encodeImage(req, cfg, listener, plans, clipPlan);
            NonFiniteWatch.requireFinite(imageEmbeddings, "encode image", "the image embeddings", NonFiniteHints.component(activation, "the image encoder"));
            Tensor imageLatents = imageLatents(req, cfg, generator, listener);
            NonFiniteWatch.requireFinite(imageLatents, "encode image", "the image latents", NonFiniteHints.component(activation, "the VAE encoder"));
            I2VGenConditioning cond = new I2VGenConditioning(text, HostTensors.filled(cfg ? 2 : 1, req.fps()), imageLatents, imageEmbeddings);

            Tensor latents = HostTensors.scaled(generator.randnTensor(shape), initNoiseSigma);
            emit(listener, i4vgen == null ? "initial_latents" : "i4vgen.eps_star", latents);
            emit(listener, "timesteps", Tensor.fromFloats(timesteps, steps));

            List<RgbImage> intermediate = List.of();
            if (i4vgen != null) {
                // I4VGen: the initial latents are NI-VSDS's fixed ε*; regeneration starts from its noised result
                listener.stage("ni-vsds");
                PipelineDevices.noteFirstDeviceOnly(devices, "I4VGen's NI-VSDS phase runs on the first device only; its regeneration is split");
                Tensor z = NiVsdsLoop.run(backend, unet, activation, ddim, i4vgen, (float) req.guidance(), cfg, cond, latents,
                        listener, niVsds + steps - first);
                if (i4vgen.decodeIntermediate()) {
                    FramePostprocessor.Streamed decoded = decodedFrames(FramePostprocessor.Streamed.NO_FRAME_LISTENER);
                    FramePostprocessor.Frames frames = decoded.frames(decode(z, req.decodeChunkSize(), decoded));
                    emit(listener, "i4vgen.ni_vsds.frames_float", frames.floats());
                    intermediate = frames.images();
                }
                Tensor noise = generator.randnTensor(shape);
                emit(listener, "i4vgen.regeneration.noise", noise);
                latents = NiVsdsLoop.regenerationLatents(ddim, z, noise, first);
                emit(listener, "i4vgen.regeneration.latents", latents);
            }

            // the decoder's first chunk plan beside the denoising loop, where it fits in what the encoders gave back
            int[] chunk = ChunkedFrameDecoder.chunkShapes(shape[2], shape[1], shape[3], shape[4], req.decodeChunkSize()).getFirst();
            PlansAhead.Ahead<ImmutableTaskGraph> decodePlan = plans.start("decode", () -> decoder.chunkGraph(chunk).freeze(), g -> g,
                    plans::fitsReleased);
            listener.stage("denoise");
            latents = denoise(req, scheduler, generator, latents, cond, first, niVsds, listener, plans, stepPlan);

            listener.stage("decode");
            emit(listener, "decode.latents", latents);
            decoder.adopt(plans.take(decodePlan).plan());
            // each chunk is checked and post-processed as it arrives, its frames told to the listener (a video encoder)
            FramePostprocessor.Streamed streamed = decodedFrames(listener::frame);
            Tensor frames = decoder.decodeVideoFrames(latents, req.decodeChunkSize(), streamed);   // [F, 3, H, W]: one video (batch 1), frame-major
            if (listener.wantsTensors()) emit(listener, "decode.video", AutoencoderKL.FrameDecoder.videoLayout(frames, latents.dim(0)));
            FramePostprocessor.Frames out = streamed.frames(frames);
            emit(listener, "frames_float", out.floats());
            return new GeneratedVideo(out.images(), out.floats(), seed, intermediate);
        }
    }

    /** Latents [1, C, F, h, w] → frames [F, 3, H, W] in [−1, 1], frame-major, chunk by chunk into {@code decoded}. */
    private Tensor decode(Tensor latents, Integer chunk, FramePostprocessor.Streamed decoded) {
        try (AutoencoderKL.FrameDecoder decoder = vae.frameDecoder(backend, activation)) {
            return decoder.decodeVideoFrames(latents, chunk, decoded);
        }
    }

    /** The post-processing of decoded chunks as they arrive, each checked to be finite first. */
    private FramePostprocessor.Streamed decodedFrames(FramePostprocessor.FrameListener frames) {
        return new FramePostprocessor.Streamed(frames, rows -> NonFiniteWatch.requireFinite(rows, "decode", "the decoded frames",
                NonFiniteHints.component(activation, "the VAE decoder")));
    }

    /** Text states [B, 77, D]: (negative, positive) when CFG is on, as diffusers concatenates them. */
    private Tensor encodePrompt(GenerationRequest req, boolean cfg, PipelineListener listener, PlansAhead plans) {
        warnIfTruncated(req.prompt());
        TokenizedText pos = tokenizer.encode(req.prompt());
        int len = pos.inputIds().length;
        Tensor ids;
        if (cfg) {
            String negative = req.negativePrompt() == null ? "" : req.negativePrompt();
            TokenizedText neg = tokenizer.encode(negative);
            int[] both = new int[2 * len];
            System.arraycopy(neg.inputIds(), 0, both, 0, len);
            System.arraycopy(pos.inputIds(), 0, both, len, len);
            ids = intTensor(both, 2, len);
        } else {
            ids = intTensor(pos.inputIds(), 1, len);
        }
        Tensor embeds;
        ImmutableTaskGraph graph;
        try (CompiledStage stage = textEncoder.compile(backend, ids.dim(0), ids.dim(1), req.clipSkip(), activation)) {
            embeds = stage.run(Map.of(ClipTextEncoder.INPUT_IDS, ids)).get(ClipTextEncoder.OUTPUT_EMBEDS);
            graph = stage.graph();
        }
        plans.release(graph);   // not run again in this generation: its weights' room serves the plans built ahead
        if (listener.wantsTensors()) {
            emit(listener, "prompt_embeds", embeds.slice(0, cfg ? 1 : 0, cfg ? 2 : 1).contiguous());
            if (cfg) emit(listener, "negative_prompt_embeds", embeds.slice(0, 0, 1).contiguous());
        }
        return embeds;
    }

    private void warnIfTruncated(String prompt) {
        String warning = truncationWarning(tokenizer, prompt);
        if (warning != null) LOG.log(System.Logger.Level.WARNING, warning);
    }

    /** Removed tokens decoded for the warning: enough to recognise the place, not a 100 kB prompt echoed back. */
    static final int TRUNCATION_SHOWN_TOKENS = 12;

    /**
     * diffusers' warning when the prompt is cut to CLIP's length (null when it fits), shortened: the start of the
     * removed text and how many tokens were removed.
     */
    static String truncationWarning(ClipTokenizer tokenizer, String prompt) {
        int[] all = tokenizer.encodeUnpadded(prompt).inputIds();
        if (all.length <= tokenizer.maxLength()) return null;
        int from = tokenizer.maxLength() - 1, to = all.length - 1;   // the content tokens after the kept ones, eos excluded
        int shown = Math.min(to - from, TRUNCATION_SHOWN_TOKENS);
        String start = tokenizer.decode(Arrays.copyOfRange(all, from, from + shown));
        return "The following part of your input was truncated because CLIP can only handle sequences up to "
                + tokenizer.maxLength() + " tokens: \"" + start + (shown < to - from ? " …" : "") + "\" ("
                + (to - from) + (to - from == 1 ? " token" : " tokens") + " removed)";
    }

    /** CLIP image embedding [B, 1, D]; the unconditional half is zeros. */
    private Tensor encodeImage(GenerationRequest req, boolean cfg, PipelineListener listener, PlansAhead plans,
                               PlansAhead.Ahead<ImmutableTaskGraph> clipPlan) {
        Tensor pixels = imagePreprocessor.pixelValues(req.image(), req.width());
        emit(listener, "clip_pixel_values", pixels);
        PlansAhead.Built<ImmutableTaskGraph> clip = plans.take(clipPlan);
        Tensor embeds;
        try (CompiledStage stage = CompiledStage.of(clip.plan())) {
            embeds = ClipVisionEncoder.run(stage, pixels);
        }
        plans.release(clip.spec());
        Tensor e = embeds.reshape(1, 1, embeds.dim(-1));
        Tensor out = cfg ? HostTensors.concatBatch(HostTensors.zerosLike(e), e) : e;
        emit(listener, "image_embeddings", out);
        return out;
    }

    /** VAE latent of the input image (a posterior sample), scaled, with the frame-position mask [B, C, F, h, w]. */
    private Tensor imageLatents(GenerationRequest req, boolean cfg, TorchGenerator generator, PipelineListener listener) {
        Tensor image = PipelineImagePreprocessing.vaePixels(req.image(), req.width(), req.height());
        emit(listener, "vae_encode.input", image);
        LatentDistribution posterior = vae.encode(backend, image, activation);
        emit(listener, "vae_encode.mean", posterior.mean());
        emit(listener, "vae_encode.logvar", posterior.logvar());
        int[] shape = posterior.mean().shape();
        Tensor noise = generator.randnTensor(shape);
        emit(listener, "vae_encode.sample_noise", noise);
        Tensor z = posterior.sample(noise);
        float s = (float) vae.scalingFactor();
        float[] zs = z.toFloatArray();
        for (int i = 0; i < zs.length; i++) zs[i] *= s;
        Tensor latents = ImageLatentConditioning.build(Tensor.fromFloats(zs, shape), req.numFrames());
        Tensor out = cfg ? HostTensors.concatBatch(latents, latents) : latents;
        emit(listener, "image_latents", out);
        return out;
    }

    /**
     * The denoising loop on the backend: one {@link DenoiseStepGraph} run per step, the constant conditioning bound
     * once and the latents (and the scheduler's state) fed back on the backend; the host only sends the step's
     * numbers (and noise) and reads what the listener asks for. A configuration the step graph cannot express
     * (dynamic thresholding) steps on the host. With two devices and guidance on: CFG-parallel ({@link CfgParallelLoop}).
     *
     * @param first the schedule index to start at (I4VGen's regeneration; 0 otherwise)
     * @param done  steps reported before this loop (I4VGen's NI-VSDS iterations), for the listener's progress
     */
    private Tensor denoise(GenerationRequest req, Scheduler scheduler, TorchGenerator generator, Tensor latents,
                           I2VGenConditioning cond, int first, int done, PipelineListener listener, PlansAhead plans,
                           PlansAhead.Ahead<DenoiseStepGraph> stepPlan) {
        boolean cfg = req.classifierFreeGuidance(), wants = listener.wantsTensors();
        if (!scheduler.stepsOnDevice()) {
            PipelineDevices.noteFirstDeviceOnly(devices, "this scheduler steps on the host: the denoising runs on the first device only");
            return HostSteppedDenoise.run(unet, backend, activation, req, scheduler, generator, latents, cond, first, done, listener);
        }
        float[] timesteps = scheduler.timesteps();
        if (timesteps.length == 0) return latents;
        int total = done + timesteps.length - first;
        if (!cfg) PipelineDevices.noteFirstDeviceOnly(devices, "guidance is off (guidance <= 1), there is no guidance batch"
                + " to split: the denoising runs on the first device only");
        if (cfg && devices.size() == 2) {
            CfgParallelGraphs graphs = DenoiseStepGraph.buildCfgParallel(unet, latents.shape(), cond.textLength(),
                    (float) req.guidance(), scheduler, req.eta(), activation, wants);
            try (CfgParallelLoop loop = new CfgParallelLoop(devices, graphs, (plan, half) -> cond.half(half).bindTo(plan),
                    plan -> {}, latents, plan -> denoiseWatch(plan, req, timesteps))) {
                return loop.run(timesteps, first, generator, i -> Map.of(I2VGenXLUNet.TIMESTEP, HostTensors.filled(1, timesteps[i])),
                        latents, wants ? (i, t, sample, plan) -> emitStep(listener, i, sample, plan) : null,
                        (i, t) -> listener.step(done + i - first, total, t));
            }
        }
        PlansAhead.Built<DenoiseStepGraph> built = plans.take(stepPlan);   // built for the latents' shape and 77 tokens
        DenoiseStepGraph step = built.spec();
        StepGraph update = step.scheduler();
        try (ExecutionPlan plan = built.plan()) {
            cond.bindTo(plan);
            plan.bind(DenoiseStepGraph.LATENTS, latents);
            update.initialState().forEach(plan::bind);
            NonFiniteWatch watch = denoiseWatch(plan, req, timesteps);
            var graph = step.graph();
            for (int i = first; i < timesteps.length; i++) {
                float t = timesteps[i];
                Map<Value, Tensor> perStep = new HashMap<>();
                perStep.put(graph.input(I2VGenXLUNet.TIMESTEP), HostTensors.filled(cond.batch(), t));
                update.inputs(i, generator).forEach((name, value) -> perStep.put(graph.input(name), value));
                watch.step(perStep, i);
                plan.execute(perStep);
                if (wants) {
                    latents = emitStep(listener, i, latents, plan);
                    watch.check();
                }
                plan.copy(DenoiseStepGraph.NEXT_LATENTS, DenoiseStepGraph.LATENTS);
                watch.carry();
                update.afterStep(plan, i);
                listener.step(done + i - first, total, t);
            }
            watch.check();
            return plan.read(DenoiseStepGraph.NEXT_LATENTS);
        }
    }

    /** The non-finite watch of a denoising step plan. */
    private NonFiniteWatch denoiseWatch(ExecutionPlan plan, GenerationRequest req, float[] timesteps) {
        return new NonFiniteWatch(plan, "denoise", "the latents", timesteps.length, i -> timesteps[i],
                NonFiniteHints.denoising(activation, "--guidance", req.guidance(), req.classifierFreeGuidance()));
    }

    /** Step i's intermediates from the plan that ran it ({@code sample}: the latents before it); returns the new latents. */
    private static Tensor emitStep(PipelineListener listener, int i, Tensor sample, ExecutionPlan plan) {
        int b = sample.dim(0), c = sample.dim(1), f = sample.dim(2), h = sample.dim(3), w = sample.dim(4);
        int[] s = {b * f, c, h, w};
        emit(listener, "unet." + i + ".out", plan.read(DenoiseStepGraph.UNET_OUT));
        Tensor next = plan.read(DenoiseStepGraph.NEXT_LATENTS);
        emit(listener, "step." + i + ".model_output", plan.read(DenoiseStepGraph.MODEL_OUTPUT));
        emit(listener, "step." + i + ".sample", Tensor.fromFloats(HostTensors.framesToBatch(sample), s));
        emit(listener, "step." + i + ".prev_sample", Tensor.fromFloats(HostTensors.framesToBatch(next), s));
        return next;
    }

    private static void emit(PipelineListener l, String name, Tensor t) {
        if (l.wantsTensors()) l.tensor(name, t);
    }

    private static Tensor intTensor(int[] ids, int rows, int cols) {
        Tensor t = Tensor.allocate(DType.I32, rows, cols);
        for (int i = 0; i < ids.length; i++) t.setFlat(i, ids[i]);
        return t;
    }
}
