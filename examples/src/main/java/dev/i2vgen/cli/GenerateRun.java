package dev.i2vgen.cli;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.checkpoint.CheckpointException;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.video.VideoWriters;
import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.GenerationRequest;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.SvdGenerationRequest;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.sampler.pipeline.VideoRequest;
import dev.i2vgen.sampler.scheduler.CheckpointScheduler;
import dev.i2vgen.sampler.scheduler.Scheduler;
import dev.i2vgen.tensor.MemoryExhaustedException;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** One {@code generate} run: checkpoint check, image, the checkpoint's pipeline with a progress bar, video file. */
final class GenerateRun {
    private final GenerateSettings s;
    private final PrintWriter out;
    private final PrintWriter err;
    /** The pipeline stage running now, for an out-of-memory error that no allocation named. */
    private String stage = "load the pipeline";
    private final RunTimings timings = RunTimings.fromEnvironment();

    GenerateRun(GenerateSettings settings, PrintWriter out, PrintWriter err) {
        this.s = settings;
        this.out = out;
        this.err = err;
    }

    int run() throws java.io.IOException {
        boolean demo = s.model() == null;
        Path demoDir = demo ? DemoModel.unpack() : null;
        Path modelDir = demo ? demoDir.resolve("checkpoint") : s.model();
        Path imagePath = s.image() != null ? s.image() : demoDir.resolve("input.png");
        if (demo) err.println("No --model given: using the built-in tiny demo model (random weights; the video is noise-like).");

        CheckpointFolder checkpoint;
        timings.begin("checkpoint check (configs, safetensors headers)");
        try {
            checkpoint = CheckpointFolder.open(modelDir).validate();
        } catch (CheckpointException e) {
            // one problem on the error's line; several one per line below it
            throw new CliErrors.BadInputException("the checkpoint folder is not usable: " + e.getMessage(), e);
        }
        timings.begin("scheduler, image and size checks");
        checkScheduler(checkpoint);
        RgbImage image = ImageLoader.read(imagePath);
        VideoRequest request = request(image, demo);
        VideoPipelines.checkSizes(modelDir, request);   // the pipeline's own size limits, before any weights or device

        timings.begin("backend start");
        try (Backend backend = Backends.create(s.device())) {
            err.println("Device: " + backend.deviceDescription() + ", precision " + s.dtype() + ", " + s.pipeline());
            long t0 = System.nanoTime();
            GeneratedVideo video;
            timings.begin("pipeline load (weights mapped)");
            try (VideoPipeline pipeline = VideoPipelines.fromPretrained(modelDir, backend, s.dtype());
                 ProgressBar bar = new ProgressBarBuilder().setTaskName("Denoising").setInitialMax(s.steps())
                    .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                    .showSpeed().build()) {
                video = pipeline.generate(request, new PipelineListener() {
                    @Override public void stage(String name) {
                        timings.begin("stage: " + name);
                        stage = name;
                        bar.setExtraMessage(" " + name);
                    }

                    @Override public void step(int index, int total, double timestep) {
                        bar.maxHint(total);   // a scheduler's schedule may have another length than --steps
                        bar.stepTo(index + 1);
                    }
                });
            }
            stage = "write the video";
            timings.begin("video encoding and writing");
            VideoWriters.forOutput(s.output()).write(video.frames(), s.fps());
            if (s.saveIntermediate() != null) {
                VideoWriters.forOutput(s.saveIntermediate()).write(video.intermediateFrames(), s.fps());
                out.printf("Wrote the NI-VSDS result to %s%n", s.saveIntermediate());
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            out.printf("Wrote %s: %d frames %dx%d at %d fps (seed %s) in %.1f s%n", s.output(), video.frames().size(),
                    s.width(), s.height(), s.fps(), Long.toUnsignedString(video.seed()), secs);
            timings.print(err, backend.setupTimes());
        } catch (OutOfMemoryError e) {   // an allocation outside the named ones (tensors, plan buffers): name the stage
            throw MemoryExhaustedException.host("the '" + stage + "' stage", -1, e);
        }
        return 0;
    }

    /**
     * This run's video on a pipeline the caller holds and reuses (batch generation keeps one per device; it must be
     * the pipeline of this run's model): the checks, request and video file of {@link #run}, without a backend, a
     * pipeline or console output of its own.
     */
    GeneratedVideo writeVideoWith(VideoPipeline pipeline, PipelineListener listener) throws java.io.IOException {
        boolean demo = s.model() == null;
        Path modelDir = demo ? DemoModel.unpack().resolve("checkpoint") : s.model();
        Path imagePath = s.image() != null ? s.image() : DemoModel.unpack().resolve("input.png");
        checkScheduler(CheckpointFolder.open(modelDir));
        VideoRequest request = request(ImageLoader.read(imagePath), demo);
        VideoPipelines.checkSizes(modelDir, request);
        GeneratedVideo video = pipeline.generate(request, listener);
        VideoWriters.forOutput(s.output()).write(video.frames(), s.fps());
        return video;
    }

    /**
     * The run's scheduler (the checkpoint's or --scheduler's) against the checkpoint's scheduler config and the step
     * count, before any weights are read: the pipeline repeats the check, but here it is a usage error.
     */
    private void checkScheduler(CheckpointFolder checkpoint) {
        try {
            Scheduler scheduler = CheckpointScheduler.read(checkpoint.component("scheduler").configFile())
                    .forRun(s.scheduler(), s.steps(), s.eta());
            if (s.i4vgen() != null && !scheduler.className().equals("DDIMScheduler")) throw new IllegalArgumentException(
                    "--i4vgen runs with DDIMScheduler (NI-VSDS uses DDIM's ᾱ_t and add_noise); this checkpoint's scheduler is "
                            + scheduler.className() + ": add --scheduler DDIMScheduler");
        } catch (IllegalArgumentException | UncheckedIOException e) {
            throw new CliErrors.BadInputException((s.scheduler() != null ? "--scheduler: " : "") + e.getMessage()
                    + (s.scheduler() != null ? " (--scheduler list prints the schedulers and their options)" : ""), e);
        }
    }

    /** The request of the checkpoint's model family. */
    private VideoRequest request(RgbImage image, boolean demo) {
        if (s.svd()) {
            return SvdGenerationRequest.builder(image).height(s.height()).width(s.width()).numFrames(s.frames()).steps(s.steps())
                    .minGuidance(s.minGuidance()).maxGuidance(s.maxGuidance()).fps(s.fps()).motionBucketId(s.motionBucketId())
                    .noiseAugStrength(s.noiseAugStrength()).decodeChunkSize(s.decodeChunk()).seed(s.seed())
                    .scheduler(s.scheduler()).build();
        }
        String prompt = s.prompt() != null ? s.prompt() : DemoModel.PROMPT;
        String negative = s.negativePrompt() != null ? s.negativePrompt() : (demo && s.prompt() == null ? DemoModel.NEGATIVE_PROMPT : null);
        return GenerationRequest.builder(prompt, image).negativePrompt(negative).height(s.height()).width(s.width())
                .numFrames(s.frames()).steps(s.steps()).guidance(s.guidance()).fps(s.fps()).eta(s.eta()).seed(s.seed())
                .decodeChunkSize(s.decodeChunk()).scheduler(s.scheduler()).i4vgen(s.i4vgen()).build();
    }
}
