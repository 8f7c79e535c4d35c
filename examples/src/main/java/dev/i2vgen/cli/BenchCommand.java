package dev.i2vgen.cli;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.cli.bench.BenchModel;
import dev.i2vgen.cli.bench.BenchReport;
import dev.i2vgen.cli.bench.BenchRow;
import dev.i2vgen.cli.bench.DiffusersAnchor;
import dev.i2vgen.cli.bench.PeakMemorySampler;
import dev.i2vgen.cli.bench.StageTimer;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.tokenizer.ClipTokenizer;
import dev.i2vgen.model.clip.ClipTextEncoder;
import dev.i2vgen.model.clip.ClipVisionEncoder;
import dev.i2vgen.model.common.CompiledStage;
import dev.i2vgen.model.unet.UNetConfig;
import dev.i2vgen.model.unet.UNetInputs;
import dev.i2vgen.model.unet.UNetRunner;
import dev.i2vgen.model.unet.UNetShape;
import dev.i2vgen.model.unet.UNetStepGraph;
import dev.i2vgen.model.vae.AutoencoderKL;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.I2VGenXLPipeline;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code i2vgen bench}: times every stage of the pipeline on a backend with random weights of the released
 * architecture (no download; configs and tensor shapes ship in the jar under {@code bench/}), after warm-up, as
 * the median of repeats, next to diffusers' figures on an H100 and the targets: text encoding (2×77 tokens), image
 * encoding (1×3×224×224), VAE encode (1×3×704×1280), one UNet step with CFG (batch 2 × 16 frames × 88×160
 * latents), VAE decode of 16 frames at chunk 1 and 8, the whole pipeline, and peak device memory.
 * {@code --small} uses the tiny demo model instead, for machines without a GPU.
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

    @Option(names = "--dtype", defaultValue = "fp16", description = "activation precision: fp16, bf16 or fp32 (default: ${DEFAULT-VALUE})")
    String dtype;

    @Option(names = "--small", description = "tiny demo architecture and shapes instead of the released model at 704x1280x16")
    boolean small;

    @Option(names = "--warmup", defaultValue = "2", description = "untimed runs per stage (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--repeats", defaultValue = "5", description = "timed runs per stage; the median is reported (default: ${DEFAULT-VALUE})")
    int repeats;

    @Option(names = "--pipeline-steps", defaultValue = "50", description = "denoising steps of the whole-pipeline run (default: ${DEFAULT-VALUE})")
    int pipelineSteps;

    @Option(names = "--pipeline-repeats", defaultValue = "1",
            description = "timed whole-pipeline runs, after one untimed 1-step run that compiles every stage (default: ${DEFAULT-VALUE}; 0 skips the pipeline)")
    int pipelineRepeats;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as JSON")
    Path json;

    @Override
    public Integer call() {
        DType act;
        try {
            act = DType.fromPrecision(dtype);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--dtype: " + e.getMessage());
        }
        if (warmup < 0 || repeats < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--warmup must be >= 0 and --repeats >= 1");
        if (pipelineSteps < 1 || pipelineRepeats < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--pipeline-steps must be >= 1 and --pipeline-repeats >= 0");
        }
        PrintWriter out = spec.commandLine().getOut();
        BenchModel model = small ? BenchModel.demo(DemoModel.unpack().resolve("checkpoint")) : BenchModel.released();
        // diffusers' figures are for the released model only; the demo has nothing to compare with.
        DiffusersAnchor anchor = small ? null : DiffusersAnchor.load();
        BenchReport report = new BenchReport();

        try (Backend backend = Backends.create(device)) {
            Optional<PeakMemorySampler> memory = PeakMemorySampler.forBackend(backend);
            try {
                report.header().put("device", device).put("device_description", backend.deviceDescription())
                        .put("dtype", act.toString()).put("model", model.description()).put("small", small)
                        .put("warmup", warmup).put("repeats", repeats)
                        .put("pipeline_steps", pipelineSteps).put("pipeline_repeats", pipelineRepeats)
                        .put("video", model.frames() + "x" + model.height() + "x" + model.width());
                if (anchor != null) report.header().set("diffusers_h100", anchor.asJson());
                out.printf("bench on %s (%s), %s, %s at %d frames x %dx%d%n", device, backend.deviceDescription(), act,
                        model.description(), model.frames(), model.height(), model.width());
                out.flush();
                new Stages(model, backend, act, memory, anchor, report, out).runAll();
            } finally {
                memory.ifPresent(PeakMemorySampler::close);
            }
        }
        out.println();
        report.printTable(out);
        if (json != null) report.writeJson(json);
        return 0;
    }

    /** The measurements, in pipeline order; each compiles its stage once, then times runs of the compiled plan. */
    private final class Stages {
        private final BenchModel model;
        private final Backend backend;
        private final DType act;
        private final Optional<PeakMemorySampler> memory;
        private final DiffusersAnchor anchor;
        private final BenchReport report;
        private final PrintWriter out;
        private final SplittableRandom random = new SplittableRandom(1);
        private double peakGib = 0;

        Stages(BenchModel model, Backend backend, DType act, Optional<PeakMemorySampler> memory, DiffusersAnchor anchor,
               BenchReport report, PrintWriter out) {
            this.model = model;
            this.backend = backend;
            this.act = act;
            this.memory = memory;
            this.anchor = anchor;
            this.report = report;
            this.out = out;
        }

        void runAll() {
            textEncoder();
            imageEncoder();
            vaeEncode();
            unetStep();
            int chunkLarge = 8;
            vaeDecode(1, TARGET_DECODE_CHUNK1_S);
            vaeDecode(chunkLarge, null);
            pipeline();
            Double all = memory.isPresent() ? peakGib : null;
            report.add(new BenchRow("peak_memory_any_stage", "device memory, most of any stage", all, "GiB", null, null));
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
            time("text_encode", "CLIP text, 2x" + len + " tokens", null, null, null, () -> {
                CompiledStage stage = model.textEncoder().compile(backend, 2, len, 1, act);
                return new Timed(stage, () -> stage.run(Map.of(ClipTextEncoder.INPUT_IDS, ids)));
            });
        }

        private void imageEncoder() {
            int s = model.imageEncoder().config().imageSize();
            Tensor pixels = gaussian(1, 3, s, s);
            time("image_encode", "CLIP vision, 1x3x" + s + "x" + s, null, null, null, () -> {
                CompiledStage stage = model.imageEncoder().compile(backend, 1, act);
                return new Timed(stage, () -> stage.run(Map.of(ClipVisionEncoder.INPUT_PIXELS, pixels)));
            });
        }

        private void vaeEncode() {
            Tensor image = gaussian(1, 3, model.height(), model.width());
            time("vae_encode", "VAE encode, 1x3x" + model.height() + "x" + model.width(), null, null, null, () -> {
                TaskGraph g = new TaskGraph("vae_encoder", act);
                Value x = g.input(AutoencoderKL.INPUT_IMAGE, DType.F32, image.shape());
                AutoencoderKL.Moments m = model.vae().encode(g, act == DType.F32 ? x : g.cast(x, act));
                g.output(AutoencoderKL.OUTPUT_MEAN, m.mean());
                g.output(AutoencoderKL.OUTPUT_LOGVAR, m.logvar());
                CompiledStage stage = CompiledStage.compile(backend, g);
                return new Timed(stage, () -> stage.run(Map.of(AutoencoderKL.INPUT_IMAGE, image)));
            });
        }

        private void unetStep() {
            UNetShape shape = new UNetShape(2, model.frames(), model.latentHeight(), model.latentWidth(), model.tokenizer().maxLength());
            UNetInputs inputs = randomUNetInputs(shape, model.unetConfig());
            // As in the denoising loop (and as diffusers' figure is taken): inputs already on the device, the
            // prediction left there; the run ends with a stream synchronisation.
            time("unet_step_cfg", "UNet step, CFG batch 2x" + shape.frames() + "x" + shape.height() + "x" + shape.width(),
                    "unet_step_cfg_s", TARGET_UNET_STEP_S, "unet_peak_gib", () -> {
                        UNetStepGraph graph = model.unet().buildGraph(shape, act, false);
                        UNetRunner runner = new UNetRunner(graph, backend);
                        runner.bindResident(inputs);
                        return new Timed(runner, runner::runResident);
                    });
            // The same step with its inputs uploaded from and its output read back to the host, every run.
            time("unet_step_cfg_host_io", "UNet step, CFG, host inputs and read-back each run", null, null, null, () -> {
                UNetStepGraph graph = model.unet().buildGraph(shape, act, false);
                UNetRunner runner = new UNetRunner(graph, backend);
                return new Timed(runner, () -> runner.run(inputs));
            });
        }

        private void vaeDecode(int chunk, Double target) {
            int f = model.frames();
            Tensor latents = gaussian(f, model.vae().config().latentChannels(), model.latentHeight(), model.latentWidth());
            String key = "vae_decode" + f + "_chunk" + chunk;
            time(key, "VAE decode " + f + " frames, chunk " + chunk, key + "_s", target, null, () -> {
                AutoencoderKL.FrameDecoder decoder = model.vae().frameDecoder(backend, act);
                return new Timed(decoder, () -> decoder.decodeFrames(latents, chunk));
            });
        }

        private void pipeline() {
            if (pipelineRepeats == 0) return;
            I2VGenXLPipeline pipe = new I2VGenXLPipeline(model.tokenizer(), model.textEncoder(), model.imageEncoder(),
                    model.featureExtractor(), model.vae(), model.unet(), model.scheduler(), backend, act);
            RgbImage image = randomImage(model.width(), model.height());
            String key = "pipeline_" + pipelineSteps + "_steps";
            announce(key);
            // Warm-up: one 1-step generation compiles (and caches) every kernel of every stage.
            pipe.generate(request(image, 1));
            memory.ifPresent(PeakMemorySampler::reset);
            StageClock clock = new StageClock();
            double s = StageTimer.medianSeconds(() -> {
                clock.start();
                pipe.generate(request(image, pipelineSteps), clock);
                clock.stop();
            }, 0, pipelineRepeats);
            boolean comparable = !small && pipelineSteps == 50;
            report.add(new BenchRow(key, "whole pipeline, " + pipelineSteps + " steps, " + model.frames() + "x" + model.height() + "x" + model.width(),
                    s, "s", comparable ? anchor.figure("pipeline_s_steps50") : null, comparable ? TARGET_PIPELINE_S : null));
            Double peak = memory.map(m -> m.peakBytes() / GIB).orElse(null);
            if (peak != null) peakGib = Math.max(peakGib, peak);
            done(s, peak);
            out.println("    last run by stage: " + clock.summary());
            report.header().put("pipeline_stages_last_run", clock.summary());
            report.add(new BenchRow("peak_memory_pipeline", "device memory during the pipeline", peak, "GiB",
                    small ? null : anchor.figure("pipeline_peak_gib"), small ? null : TARGET_PEAK_GIB));
        }

        private GenerationRequest request(RgbImage image, int steps) {
            return new GenerationRequest(DemoModel.PROMPT, DemoModel.NEGATIVE_PROMPT, image, model.height(), model.width(),
                    model.frames(), steps, 9.0, 16, 0.0, 42L, 1, 1);
        }

        /**
         * Compiles a stage (untimed, but its peak memory counts), times it, closes it, and adds a row for the time
         * and, where diffusers has a figure for that stage's memory, one for its peak memory.
         */
        private void time(String key, String what, String anchorKey, Double target, String anchorPeakKey, StageFactory factory) {
            announce(key);
            memory.ifPresent(PeakMemorySampler::reset);
            double seconds;
            try (Timed t = factory.build()) {
                seconds = StageTimer.medianSeconds(t.run(), warmup, repeats);
            } catch (Exception e) {
                throw e instanceof RuntimeException r ? r : new IllegalStateException(key + ": " + e.getMessage(), e);
            }
            Double peak = memory.map(m -> m.peakBytes() / GIB).orElse(null);
            if (peak != null) peakGib = Math.max(peakGib, peak);
            done(seconds, peak);
            report.add(new BenchRow(key, what, seconds, "s", comparable(anchorKey), small ? null : target));
            var peaks = report.header().withObject("/peak_gib_per_stage");
            if (peak == null) peaks.putNull(key); else peaks.put(key, peak);
            if (anchorPeakKey != null) {
                report.add(new BenchRow(key + "_peak_memory", "device memory during " + key, peak, "GiB", comparable(anchorPeakKey), null));
            }
        }

        private Double comparable(String anchorKey) {
            return anchor == null || anchorKey == null ? null : anchor.figure(anchorKey);
        }

        private void announce(String key) {
            out.printf("  %s ...", key);
            out.flush();
        }

        /** Ends the announce line as soon as a stage is measured, so a run cut short still shows what it got. */
        private void done(double seconds, Double peakGib) {
            out.printf(" %.4f s%s%n", seconds, peakGib == null ? "" : String.format(Locale.ROOT, ", peak %.2f GiB", peakGib));
            out.flush();
        }

        private Tensor gaussian(int... shape) {
            float[] v = new float[(int) Tensor.numel(shape)];
            for (int i = 0; i < v.length; i++) v[i] = (float) random.nextGaussian();
            return Tensor.fromFloats(v, shape);
        }

        private RgbImage randomImage(int width, int height) {
            byte[] rgb = new byte[width * height * 3];
            for (int i = 0; i < rgb.length; i++) rgb[i] = (byte) random.nextInt(256);
            return RgbImage.of(width, height, rgb);
        }

        private UNetInputs randomUNetInputs(UNetShape s, UNetConfig c) {
            int[] video = {s.batch(), c.inChannels(), s.frames(), s.height(), s.width()};
            return new UNetInputs(gaussian(video), UNetInputs.scalar(981f),
                    gaussian(s.batch(), s.textLength(), c.crossAttentionDim()), UNetInputs.scalar(16f),
                    gaussian(video), gaussian(s.batch(), 1, c.crossAttentionDim()));
        }
    }

    /**
     * Wall time of each pipeline stage of one generation, from the listener's stage and step calls; the first
     * denoising step is shown apart (it includes building the step's plan).
     */
    private static final class StageClock implements PipelineListener {
        private final java.util.LinkedHashMap<String, Long> nanos = new java.util.LinkedHashMap<>();
        private String current;
        private long mark, firstStep, steps;

        void start() {
            nanos.clear();
            current = "setup";
            mark = System.nanoTime();
            firstStep = 0;
            steps = 0;
        }

        @Override
        public void stage(String name) {
            lap();
            current = name;
        }

        @Override
        public void step(int index, int total, int timestep) {
            if (index == 0) firstStep = System.nanoTime() - mark;
            steps = total;
        }

        void stop() { lap(); current = null; }

        private void lap() {
            long now = System.nanoTime();
            if (current != null) nanos.merge(current, now - mark, Long::sum);
            mark = now;
        }

        String summary() {
            StringBuilder sb = new StringBuilder();
            nanos.forEach((k, v) -> {
                if (!sb.isEmpty()) sb.append(", ");
                sb.append(String.format(Locale.ROOT, "%s %.3f s", k, v / 1e9));
                if (k.equals("denoise") && steps > 1) {
                    sb.append(String.format(Locale.ROOT, " (first step %.3f s incl. plan build, then %.4f s/step)",
                            firstStep / 1e9, (v - firstStep) / 1e9 / (steps - 1)));
                }
            });
            return sb.toString();
        }
    }

    /** A compiled stage and one run of it; closing releases its device memory. */
    private record Timed(AutoCloseable resource, Runnable run) implements AutoCloseable {
        @Override
        public void close() throws Exception { resource.close(); }
    }

    @FunctionalInterface
    private interface StageFactory {
        Timed build();
    }
}
