package dev.i2vgen.cli;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.cli.bench.BenchModel;
import dev.i2vgen.cli.bench.BenchReport;
import dev.i2vgen.cli.bench.BenchRow;
import dev.i2vgen.cli.bench.CfgParallelBench;
import dev.i2vgen.cli.bench.CommonStages;
import dev.i2vgen.cli.bench.DiffusersAnchor;
import dev.i2vgen.cli.bench.PeakMemorySampler;
import dev.i2vgen.cli.bench.ReleasedCheckpointWriter;
import dev.i2vgen.cli.bench.StageRunner;
import dev.i2vgen.cli.bench.SvdBenchModel;
import dev.i2vgen.cli.bench.SvdBenchStages;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.tokenizer.ClipTokenizer;
import dev.i2vgen.model.clip.ClipTextEncoder;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.unet.UNetConfig;
import dev.i2vgen.model.unet.UNetInputs;
import dev.i2vgen.model.unet.UNetRunner;
import dev.i2vgen.model.unet.UNetShape;
import dev.i2vgen.model.unet.UNetStepGraph;
import dev.i2vgen.model.vae.AutoencoderKL;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.I2VGenXLPipeline;
import dev.i2vgen.sampler.pipeline.I4VGenOptions;
import dev.i2vgen.sampler.scheduler.SchedulerSpec;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code i2vgen bench}: times every stage of the pipeline on a backend with random weights of the released
 * architecture (no download; configs and tensor shapes ship in the jar under {@code bench/}), after warm-up, as
 * the median of repeats, next to diffusers' figures on an H100 and the targets: text encoding (2×77 tokens), image
 * encoding (1×3×224×224), VAE encode (1×3×704×1280), one UNet step with CFG (batch 2 × 16 frames × 88×160
 * latents), VAE decode of 16 frames at chunk 1 and 8, the whole pipeline, and peak device memory.
 * {@code --small} uses the tiny demo model instead, for machines without a GPU. {@code --devices A,B} also times
 * CFG-parallel (one video on two devices) against the first device alone ({@link CfgParallelBench}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Time every pipeline stage with random weights (no download).")
public final class BenchCommand implements Callable<Integer> {
    private static final double GIB = 1024.0 * 1024 * 1024;
    /** Targets of the issue: seconds, and GiB for memory. */
    private static final double TARGET_UNET_STEP_S = 0.45, TARGET_DECODE_CHUNK1_S = 0.5, TARGET_PIPELINE_S = 25, TARGET_PEAK_GIB = 13.6;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--device", defaultValue = "cuda", description = "backend: cuda or jvm (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--devices", paramLabel = "N[,N]", split = ",",
            description = {"device ordinals: one (the GPU to time) or two, e.g. 0,1: every stage on the first, then one video",
                    "CFG-parallel on both (a half of the guidance batch on each) against the first alone (default: 0)"})
    int[] devices;

    @Option(names = "--dtype", defaultValue = "fp16", description = "activation precision: fp16, bf16 or fp32 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--model", defaultValue = "i2vgen-xl", paramLabel = "i2vgen-xl|svd-xt",
            description = "the released architecture to time: i2vgen-xl (704x1280, 16 frames) or svd-xt (Stable Video Diffusion XT: 576x1024, 25 frames, decode chunk 8) (default: ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--small", description = "tiny demo architecture and shapes instead of the released model at 704x1280x16")
    boolean small;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed runs per stage (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--repeats", defaultValue = "5", description = "timed runs per stage; the median is reported (default: ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--pipeline-steps", description = "denoising steps of the whole-pipeline run (default: the model's, i2vgen-xl 50, svd-xt 25)")
    Integer pipelineSteps;

    @Option(names = "--pipeline-repeats", defaultValue = "1",
            description = "timed whole-pipeline runs, after one untimed 1-step run that compiles every stage (default: ${DEFAULT-VALUE}; 0 skips the pipeline)")
    int pipelineRepeats;

    @Option(names = "--scheduler", paramLabel = "NAME[:key=value,...]",
            description = "the whole-pipeline run's scheduler, as for generate (default: the checkpoint's: DDIM for i2vgen-xl, Euler for svd-xt)")
    String scheduler;

    @Option(names = "--i4vgen", description = "i2vgen-xl: also time I4VGen's whole video (its defaults: p_ni 0.6, λ 1, p_re 0.8) beside the plain pipeline")
    boolean i4vgen;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as JSON")
    Path json;

    @Option(names = "--write-checkpoint", paramLabel = "DIR",
            description = "instead of timing: write --model's released architecture with the random weights as a checkpoint folder"
                    + " in the fp16 variant layout (about 5 GB for i2vgen-xl), for timing `i2vgen generate --model DIR --dtype fp16` end to end")
    Path writeCheckpoint;

    @Override
    public Integer call() {
        DType act;
        try {
            act = DType.fromPrecision(dtype);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--dtype: " + e.getMessage());
        }
        if (warmup < 0 || repeats < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--warmup must be >= 0 and --repeats >= 1");
        boolean svd = switch (model) {
            case "i2vgen-xl" -> false;
            case "svd-xt" -> true;
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--model must be i2vgen-xl or svd-xt, got '" + model + "'");
        };
        if (svd && small) throw new CommandLine.ParameterException(spec.commandLine(), "--small runs the I2VGen-XL demo model; it does not go with --model svd-xt");
        if (svd && i4vgen) throw new CommandLine.ParameterException(spec.commandLine(), "--i4vgen is I4VGen on I2VGen-XL; it does not go with --model svd-xt");
        if (writeCheckpoint != null) {
            if (small) throw new CommandLine.ParameterException(spec.commandLine(), "--write-checkpoint writes the released architecture; it does not go with --small");
            PrintWriter out = spec.commandLine().getOut();
            out.println("Writing " + model + " with random fp16 weights to " + writeCheckpoint);
            long bytes;
            try {
                bytes = ReleasedCheckpointWriter.write(model, writeCheckpoint, out);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            out.printf("Wrote %.2f GB%n", bytes / 1e9);
            return 0;
        }
        int steps = pipelineSteps != null ? pipelineSteps : svd ? 25 : 50;
        if (steps < 1 || pipelineRepeats < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--pipeline-steps must be >= 1 and --pipeline-repeats >= 0");
        }
        SchedulerSpec schedulerSpec = SchedulerOptionParser.parse(scheduler, spec.commandLine());
        String devicesProblem = DeviceBackends.problem(device, devices);
        if (devicesProblem != null) throw new CommandLine.ParameterException(spec.commandLine(), devicesProblem);
        List<Integer> ordinals = devices == null ? List.of() : Arrays.stream(devices).boxed().toList();
        PrintWriter out = spec.commandLine().getOut();
        BenchReport report;
        CfgParallelBench cfgParallel = null;
        try (DeviceBackends opened = DeviceBackends.open(device, ordinals)) {
            Backend backend = opened.first();
            // diffusers' figures for the released models on this GPU kind where we have them, else on the other kind
            // (the targets are ratios on the same kind); the demo has nothing to compare with
            DiffusersAnchor anchor = small ? null : DiffusersAnchor.forGpu(svd ? "svd-xt" : "i2vgen-xl", backend.deviceDescription());
            report = new BenchReport(anchor == null ? "-" : anchor.gpuKind());
            Optional<PeakMemorySampler> memory = PeakMemorySampler.forBackend(backend);
            try {
                report.header().put("device", device).put("device_description", backend.deviceDescription())
                        .put("dtype", act.toString()).put("small", small).put("i4vgen", i4vgen).put("warmup", warmup).put("repeats", repeats)
                        .put("pipeline_steps", steps).put("pipeline_repeats", pipelineRepeats)
                        .put("scheduler", schedulerSpec == null ? "checkpoint's" : schedulerSpec.toString());
                StageRunner runner = new StageRunner(memory, anchor, report, out, warmup, repeats);
                if (svd) {
                    SvdBenchModel m = SvdBenchModel.released();
                    report.header().put("model", "Stable Video Diffusion XT (random weights)").put("video", m.frames() + "x" + m.height() + "x" + m.width());
                    report.header().set("diffusers", anchor.asJson());
                    out.printf("bench on %s (%s), %s, SVD-XT (random weights) at %d frames x %dx%d, decode chunk %d%n", device,
                            backend.deviceDescription(), act, m.frames(), m.height(), m.width(), m.decodeChunk());
                    out.flush();
                    SvdBenchStages stages = new SvdBenchStages(m, backend, act, runner, steps, pipelineRepeats, schedulerSpec);
                    stages.runAll();
                    if (opened.backends().size() == 2) {
                        cfgParallel = new CfgParallelBench(runner, opened.backends(), names(ordinals));
                        stages.cfgParallel(cfgParallel);
                    }
                } else {
                    BenchModel m = small ? BenchModel.demo(DemoModel.unpack().resolve("checkpoint")) : BenchModel.released();
                    report.header().put("model", m.description()).put("video", m.frames() + "x" + m.height() + "x" + m.width());
                    if (anchor != null) report.header().set("diffusers", anchor.asJson());
                    out.printf("bench on %s (%s), %s, %s at %d frames x %dx%d%n", device, backend.deviceDescription(), act,
                            m.description(), m.frames(), m.height(), m.width());
                    out.flush();
                    Stages stages = new Stages(m, backend, act, runner, steps, schedulerSpec);
                    stages.runAll();
                    if (opened.backends().size() == 2) {
                        cfgParallel = new CfgParallelBench(runner, opened.backends(), names(ordinals));
                        stages.cfgParallel(cfgParallel);
                    }
                }
            } finally {
                memory.ifPresent(PeakMemorySampler::close);
            }
        }
        out.println();
        report.printTable(out);
        if (cfgParallel != null) cfgParallel.print(out);
        if (json != null) report.writeJson(json);
        return 0;
    }

    /** "cuda:0 + cuda:1". */
    private String names(List<Integer> ordinals) {
        return device + ":" + ordinals.get(0) + " + " + device + ":" + ordinals.get(1);
    }

    /** The measurements, in pipeline order; each compiles its stage once, then times runs of the compiled plan. */
    private final class Stages {
        private final BenchModel model;
        private final Backend backend;
        private final DType act;
        private final StageRunner runner;
        private final int pipelineSteps;
        private final SchedulerSpec scheduler;

        Stages(BenchModel model, Backend backend, DType act, StageRunner runner, int pipelineSteps, SchedulerSpec scheduler) {
            this.model = model;
            this.backend = backend;
            this.act = act;
            this.runner = runner;
            this.pipelineSteps = pipelineSteps;
            this.scheduler = scheduler;
        }

        void runAll() {
            textEncoder();
            CommonStages.imageEncoder(runner, backend, model.imageEncoder(), act);
            // the pipeline samples the posterior: the logvar is part of the stage
            CommonStages.vaeEncode(runner, backend, model.vae()::encode, model.height(), model.width(), act, "", true);
            unetStep();
            int chunkLarge = 8;
            vaeDecode(1, TARGET_DECODE_CHUNK1_S);
            vaeDecode(chunkLarge, null);
            pipeline();
            runner.report().add(new BenchRow("peak_memory_any_stage", "device memory, most of any stage", runner.peakOfAllStages(), "GiB", null, null));
        }

        private void textEncoder() {
            ClipTokenizer tokenizer = model.tokenizer();
            int len = tokenizer.maxLength();
            int[] neg = tokenizer.encode(DemoModel.NEGATIVE_PROMPT).inputIds(), pos = tokenizer.encode(DemoModel.PROMPT).inputIds();
            Tensor ids = Tensor.allocate(DType.I32, 2, len);
            for (int i = 0; i < len; i++) {
                ids.setFlat(i, neg[i]);
                ids.setFlat(len + i, pos[i]);
            }
            runner.time("text_encode", "CLIP text, 2x" + len + " tokens", null, null, null, () -> {
                CompiledStage stage = model.textEncoder().compile(backend, 2, len, 1, act);
                return new StageRunner.Timed(stage, () -> stage.run(Map.of(ClipTextEncoder.INPUT_IDS, ids)));
            });
        }

        private void unetStep() {
            UNetShape shape = new UNetShape(2, model.frames(), model.latentHeight(), model.latentWidth(), model.tokenizer().maxLength());
            UNetInputs inputs = randomUNetInputs(shape, model.unetConfig());
            // As in the denoising loop (and as diffusers' figure is taken): inputs already on the device, the
            // prediction left there; the run ends with a stream synchronisation.
            runner.time("unet_step_cfg", "UNet step, CFG batch 2x" + shape.frames() + "x" + shape.height() + "x" + shape.width(),
                    "unet_step_cfg_s", TARGET_UNET_STEP_S, "unet_peak_gib", () -> {
                        UNetStepGraph graph = model.unet().buildGraph(shape, act, false);
                        UNetRunner runner = new UNetRunner(graph, backend);
                        runner.bindResident(inputs);
                        return new StageRunner.Timed(runner, runner::runResident);
                    });
            // The same step with its inputs uploaded from and its output read back to the host, every run.
            runner.time("unet_step_cfg_host_io", "UNet step, CFG, host inputs and read-back each run", null, null, null, () -> {
                UNetStepGraph graph = model.unet().buildGraph(shape, act, false);
                UNetRunner runner = new UNetRunner(graph, backend);
                return new StageRunner.Timed(runner, () -> runner.run(inputs));
            });
        }

        private void vaeDecode(int chunk, Double target) {
            int f = model.frames();
            Tensor latents = runner.gaussian(f, model.vae().config().latentChannels(), model.latentHeight(), model.latentWidth());
            String key = "vae_decode" + f + "_chunk" + chunk;
            runner.time(key, "VAE decode " + f + " frames, chunk " + chunk, key + "_s", target, null, () -> {
                AutoencoderKL.FrameDecoder decoder = model.vae().frameDecoder(backend, act);
                return new StageRunner.Timed(decoder, () -> decoder.decodeFrames(latents, chunk));
            });
        }

        private void pipeline() {
            if (pipelineRepeats == 0) return;
            I2VGenXLPipeline pipe = new I2VGenXLPipeline(model.tokenizer(), model.textEncoder(), model.imageEncoder(),
                    model.featureExtractor(), model.vae(), model.unet(), model.scheduler(), backend, act);
            RgbImage image = runner.randomImage(model.width(), model.height());
            // diffusers' figure is for the released model, 50 DDIM steps
            boolean comparable = !small && pipelineSteps == 50 && scheduler == null;
            runner.timePipeline(pipelineSteps, pipelineRepeats, model.frames() + "x" + model.height() + "x" + model.width(),
                    (steps, listener) -> pipe.generate(request(image, steps, null), listener),
                    comparable ? "pipeline_s_steps50" : null, comparable ? TARGET_PIPELINE_S : null,
                    "pipeline_peak_gib", small ? null : TARGET_PEAK_GIB);
            if (i4vgen) {
                // I4VGen needs 2 steps at least (its warm-up run asks for 1): τ NI-VSDS iterations + ⌊0.8·S⌋ steps
                runner.timePipeline("i4vgen", "whole I4VGen video", pipelineSteps, pipelineRepeats,
                        model.frames() + "x" + model.height() + "x" + model.width(),
                        (steps, listener) -> pipe.generate(request(image, Math.max(steps, 2), I4VGenOptions.defaults()), listener),
                        null, null, null, null);
            }
        }

        /** CFG-parallel against the first device: the UNet on one half of the guidance batch, the whole video on both. */
        void cfgParallel(CfgParallelBench bench) {
            UNetShape shape = new UNetShape(1, model.frames(), model.latentHeight(), model.latentWidth(), model.tokenizer().maxLength());
            UNetInputs inputs = randomUNetInputs(shape, model.unetConfig());
            bench.halfStep("UNet step, one half, batch 1x" + shape.frames() + "x" + shape.height() + "x" + shape.width(), "unet_step_cfg", () -> {
                UNetRunner runner = new UNetRunner(model.unet().buildGraph(shape, act, false), backend);
                runner.bindResident(inputs);
                return new StageRunner.Timed(runner, runner::runResident);
            });
            RgbImage image = runner.randomImage(model.width(), model.height());
            bench.wholeVideo(pipelineSteps, pipelineRepeats, model.frames() + "x" + model.height() + "x" + model.width(),
                    (devices, steps, listener) -> new I2VGenXLPipeline(model.tokenizer(), model.textEncoder(), model.imageEncoder(),
                            model.featureExtractor(), model.vae(), model.unet(), model.scheduler(), devices, act)
                            .generate(request(image, steps, null), listener));
        }

        private GenerationRequest request(RgbImage image, int steps, I4VGenOptions i4vgenOptions) {
            return GenerationRequest.builder(DemoModel.PROMPT, image).negativePrompt(DemoModel.NEGATIVE_PROMPT)
                    .height(model.height()).width(model.width()).numFrames(model.frames()).steps(steps).seed(42L)
                    .scheduler(scheduler).i4vgen(i4vgenOptions).build();
        }

        private UNetInputs randomUNetInputs(UNetShape s, UNetConfig c) {
            int[] video = {s.batch(), c.inChannels(), s.frames(), s.height(), s.width()};
            return new UNetInputs(runner.gaussian(video), UNetInputs.scalar(981f),
                    runner.gaussian(s.batch(), s.textLength(), c.crossAttentionDim()), UNetInputs.scalar(16f),
                    runner.gaussian(video), runner.gaussian(s.batch(), 1, c.crossAttentionDim()));
        }
    }
}
