package dev.i2vgen.cli;

import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.video.VideoWriters;
import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoRequest;
import dev.i2vgen.tensor.MemoryExhaustedException;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;
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
        GenerationParameters job = s.job();
        if (s.model() == null) err.println("No --model given: using the built-in tiny demo model (random weights; the video is noise-like).");
        timings.begin("checkpoint check (configs, safetensors headers)");
        ModelCheckpoint checkpoint = ModelCheckpoint.open(s.model());
        timings.begin("scheduler, image and size checks");
        checkpoint.checkScheduler(job);
        VideoRequest request = job.toRequest(ImageLoader.read(imagePath(checkpoint)));
        checkpoint.checkSizes(request);   // the pipeline's own size limits, before any weights or device

        try {
            long t0 = System.nanoTime();
            GeneratedVideo video;
            try (LoadedPipeline pipeline = checkpoint.load(s.device(), s.devices(), s.dtype(), timings::begin)) {
                err.println(pipeline.description());
                video = generate(pipeline, request, job.steps());
                stage = "write the video";
                timings.begin("video encoding and writing");
                VideoWriters.forOutput(s.output()).write(video.frames(), job.fps());
                if (s.saveIntermediate() != null) {
                    VideoWriters.forOutput(s.saveIntermediate()).write(video.intermediateFrames(), job.fps());
                    out.printf("Wrote the NI-VSDS result to %s%n", s.saveIntermediate());
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                out.printf("Wrote %s: %d frames %dx%d at %d fps (seed %s) in %.1f s%n", s.output(), video.frames().size(),
                        job.width(), job.height(), job.fps(), Long.toUnsignedString(video.seed()), secs);
                timings.print(err, pipeline.setupTimes());
            }
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
        ModelCheckpoint checkpoint = ModelCheckpoint.ofLoaded(s.model());
        checkpoint.checkScheduler(s.job());
        VideoRequest request = s.job().toRequest(ImageLoader.read(imagePath(checkpoint)));
        checkpoint.checkSizes(request);
        GeneratedVideo video = pipeline.generate(request, listener);
        VideoWriters.forOutput(s.output()).write(video.frames(), s.job().fps());
        return video;
    }

    private Path imagePath(ModelCheckpoint checkpoint) { return s.image() != null ? s.image() : checkpoint.demoImage(); }

    /** The generation with a progress bar of the denoising steps on stderr (and each stage's time when asked). */
    private GeneratedVideo generate(LoadedPipeline pipeline, VideoRequest request, int steps) {
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("Denoising").setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                .showSpeed().build()) {
            return pipeline.generate(request, new PipelineListener() {
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
    }
}
