package dev.i2vgen.cli.bench;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.model.svd.SpatioTemporalUNet;
import dev.i2vgen.model.vae.AutoencoderKLTemporalDecoder;
import dev.i2vgen.sampler.pipeline.StableVideoDiffusionPipeline;
import dev.i2vgen.sampler.pipeline.SvdGenerationRequest;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

/**
 * The Stable Video Diffusion XT benchmark, stage by stage, beside diffusers' figures and the targets (ratios
 * of diffusers' fp16 figures on the same GPU kind): image encoding, VAE encode (float32, as the pipeline encodes
 * with {@code force_upcast}), one UNet step with CFG (2 × 25 frames × 72×128 latents, 8 input channels, inputs resident
 * on the device), VAE decode of 25 frames in chunks of 8, the whole pipeline and its peak device memory.
 */
public final class SvdBenchStages {
    /** Targets as fractions of diffusers' time on the same GPU kind (memory: at most diffusers'). */
    static final double UNET_RATIO = 0.6, DECODE_RATIO = 0.4, PIPELINE_RATIO = 0.6;

    private final SvdBenchModel model;
    private final Backend backend;
    private final DType act;
    private final StageRunner runner;
    private final int pipelineSteps, pipelineRepeats;
    private final SchedulerSpec scheduler;

    /** @param scheduler the whole-pipeline run's scheduler, null for the checkpoint's (Euler) */
    public SvdBenchStages(SvdBenchModel model, Backend backend, DType act, StageRunner runner, int pipelineSteps,
                          int pipelineRepeats, SchedulerSpec scheduler) {
        this.model = model;
        this.backend = backend;
        this.act = act;
        this.runner = runner;
        this.pipelineSteps = pipelineSteps;
        this.pipelineRepeats = pipelineRepeats;
        this.scheduler = scheduler;
    }

    public void runAll() {
        CommonStages.imageEncoder(runner, backend, model.imageEncoder(), act);
        // the pipeline encodes with force_upcast and takes the posterior's mode (no logvar)
        DType vaePrecision = model.vae().config().forceUpcast() ? DType.F32 : act;
        CommonStages.vaeEncode(runner, backend, model.vae()::encode, model.height(), model.width(), vaePrecision, " " + vaePrecision, false);
        unetStep();
        vaeDecode();
        pipeline();
        runner.report().add(new BenchRow("peak_memory_any_stage", "device memory, most of any stage", runner.peakOfAllStages(), "GiB", null, null));
    }

    private Double target(String anchorKey, double ratio) {
        Double d = runner.figure(anchorKey);
        return d == null ? null : d * ratio;
    }

    private void unetStep() {
        int b = 2, f = model.frames(), h = model.latentHeight(), w = model.latentWidth();
        var config = model.unet().config();
        Tensor sample = runner.gaussian(b, f, config.inChannels(), h, w);
        Tensor context = runner.gaussian(b, 1, config.contextDim());
        Tensor ids = Tensor.fromFloats(new float[]{6, 127, 0.02f, 6, 127, 0.02f}, b, 3);
        Tensor t = Tensor.fromFloats(new float[]{0.5f, 0.5f}, b);
        // as in the denoising loop (and as diffusers' figure is taken): inputs on the device, the prediction left there
        runner.time("unet_step_cfg", "UNet step, CFG batch 2x" + f + "x" + h + "x" + w, "svd_unet_step_cfg_s",
                target("svd_unet_step_cfg_s", UNET_RATIO), "svd_unet_peak_gib", () -> {
                    ExecutionPlan plan = backend.compile(model.unet().buildGraph(b, f, h, w, 1, act).freeze());
                    plan.bind(SpatioTemporalUNet.SAMPLE, sample);
                    plan.bind(SpatioTemporalUNet.TIMESTEP, t);
                    plan.bind(SpatioTemporalUNet.ENCODER_HIDDEN_STATES, context);
                    plan.bind(SpatioTemporalUNet.ADDED_TIME_IDS, ids);
                    return new StageRunner.Timed(plan, plan::execute);
                });
    }

    private void vaeDecode() {
        int f = model.frames(), chunk = model.decodeChunk();
        Tensor latents = runner.gaussian(f, model.vae().config().latentChannels(), model.latentHeight(), model.latentWidth());
        String key = "vae_decode" + f + "_chunk" + chunk;
        runner.time(key, "VAE decode " + f + " frames, chunks of " + chunk, "svd_" + key + "_s", target("svd_" + key + "_s", DECODE_RATIO), null, () -> {
            AutoencoderKLTemporalDecoder.FrameDecoder decoder = model.vae().frameDecoder(backend, act);
            return new StageRunner.Timed(decoder, () -> decoder.decodeFrames(latents, chunk));
        });
    }

    private void pipeline() {
        if (pipelineRepeats == 0) return;
        StableVideoDiffusionPipeline pipe = new StableVideoDiffusionPipeline(model.imageEncoder(), model.featureExtractor(),
                model.vae(), model.unet(), model.scheduler(), backend, act);
        RgbImage image = runner.randomImage(model.width(), model.height());
        boolean comparable = pipelineSteps == 25 && scheduler == null;   // diffusers' figure is for 25 Euler steps
        runner.timePipeline(pipelineSteps, pipelineRepeats, model.frames() + "x" + model.height() + "x" + model.width(),
                (steps, listener) -> pipe.generate(request(image, steps), listener),
                comparable ? "svd_pipeline_s_25steps" : null, comparable ? target("svd_pipeline_s_25steps", PIPELINE_RATIO) : null,
                "svd_pipeline_peak_gib", target("svd_pipeline_peak_gib", 1.0));
    }

    /** CFG-parallel against the first device: the UNet on one half of the guidance batch, the whole video on both. */
    public void cfgParallel(CfgParallelBench bench) {
        int f = model.frames(), h = model.latentHeight(), w = model.latentWidth();
        var config = model.unet().config();
        Tensor sample = runner.gaussian(1, f, config.inChannels(), h, w);
        Tensor context = runner.gaussian(1, 1, config.contextDim());
        Tensor ids = Tensor.fromFloats(new float[]{6, 127, 0.02f}, 1, 3);
        Tensor t = Tensor.fromFloats(new float[]{0.5f}, 1);
        bench.halfStep("UNet step, one half, batch 1x" + f + "x" + h + "x" + w, "unet_step_cfg", () -> {
            ExecutionPlan plan = backend.compile(model.unet().buildGraph(1, f, h, w, 1, act).freeze());
            plan.bind(SpatioTemporalUNet.SAMPLE, sample);
            plan.bind(SpatioTemporalUNet.TIMESTEP, t);
            plan.bind(SpatioTemporalUNet.ENCODER_HIDDEN_STATES, context);
            plan.bind(SpatioTemporalUNet.ADDED_TIME_IDS, ids);
            return new StageRunner.Timed(plan, plan::execute);
        });
        RgbImage image = runner.randomImage(model.width(), model.height());
        bench.wholeVideo(pipelineSteps, pipelineRepeats, model.frames() + "x" + model.height() + "x" + model.width(),
                (devices, steps, listener) -> new StableVideoDiffusionPipeline(model.imageEncoder(), model.featureExtractor(),
                        model.vae(), model.unet(), model.scheduler(), devices, act).generate(request(image, steps), listener));
    }

    private SvdGenerationRequest request(RgbImage image, int steps) {
        return SvdGenerationRequest.builder(image).height(model.height()).width(model.width()).numFrames(model.frames())
                .steps(steps).decodeChunkSize(model.decodeChunk()).seed(42L).scheduler(scheduler).build();
    }
}
