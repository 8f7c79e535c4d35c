package dev.i2vgen.cli;

import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.video.VideoStream;
import dev.i2vgen.io.video.VideoWriter;
import dev.i2vgen.io.video.VideoWriters;
import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoRequest;
import dev.i2vgen.tensor.MemoryExhaustedException;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * One {@code generate} run: checkpoint check, image, the checkpoint's pipeline with a progress bar, video file. The
 * video is encoded while the VAE decodes ({@link VideoStream}: each frame as the pipeline hands it over), unless
 * {@code -Di2vgen.video.streaming=false}, which writes it after the last frame (A/B of the overlap).
 */
final class GenerateRun {
    private final GenerateSettings s;
    private final PrintWriter out;
    private final PrintWriter err;
    private final Function<Path, VideoWriter> writers;
    /** The pipeline stage running now, for an out-of-memory error that no allocation named. */
    private String stage = "load the pipeline";
    private final RunTimings timings = RunTimings.fromEnvironment();

    GenerateRun(GenerateSettings settings, PrintWriter out, PrintWriter err) {
        this(settings, out, err, VideoWriters::forOutput);
    }

    /** With the writer of each output path ({@link VideoWriters#forOutput}; tests give one that fails). */
    GenerateRun(GenerateSettings settings, PrintWriter out, PrintWriter err, Function<Path, VideoWriter> writers) {
        this.s = settings;
        this.out = out;
        this.err = err;
        this.writers = writers;
    }

    /** Whether the video is encoded while it decodes ({@code -Di2vgen.video.streaming}, on by default). */
    static boolean streamingByProperty() { return !"false".equals(System.getProperty("i2vgen.video.streaming")); }

    int run() throws java.io.IOException {
        GenerationParameters job = s.job();
        if (s.model() == null) err.println("No --model given: using the built-in tiny demo model (random weights; the video is noise-like).");
        // the device starts beside the checks; a run that fails them closes it, and their error is the one thrown
        try (BackendStart start = BackendStart.begin(s.device(), s.devices(), s.dtype())) {
            timings.begin("checkpoint check (configs, safetensors headers)");
            ModelCheckpoint checkpoint = ModelCheckpoint.open(s.model());
            timings.begin("scheduler, image and size checks");
            checkpoint.checkScheduler(job);
            VideoRequest request = job.toRequest(ImageLoader.read(imagePath(checkpoint)));
            checkpoint.checkSizes(request);   // the pipeline's own size limits, before any weights are read
            return generateAndWrite(job, checkpoint, request, start);
        }
    }

    private int generateAndWrite(GenerationParameters job, ModelCheckpoint checkpoint, VideoRequest request, BackendStart start)
            throws java.io.IOException {
        try {
            long t0 = System.nanoTime();
            GeneratedVideo video;
            try (LoadedPipeline pipeline = checkpoint.load(start, s.dtype(), timings::begin)) {
                if (start.early()) timings.beside("backend start (beside the checks and the weight mapping)", start.startTime(), start.waited());
                err.println(pipeline.description());
                VideoWriter writer = writers.apply(s.output());
                writer.warmUp(job.width(), job.height());   // the encoder's JIT warm-up runs while the GPU denoises
                // nothing of the video is on disk unless the whole run succeeds: an unfinished stream is discarded
                try (VideoStream stream = streamingByProperty() ? VideoStream.open(writer, job.fps()) : null) {
                    video = generate(pipeline, request, job.steps(), stream);
                    stage = "write the video";
                    if (stream != null) {
                        timings.begin("video: encoding left after the last frame, rename");
                        stream.finish(video.frames());
                        timings.beside("video encoding (its own thread, frame by frame as the VAE decoded)", stream.encodingTime(), stream.finishWait());
                    } else {
                        timings.begin("video encoding and writing");
                        writer.write(video.frames(), job.fps());
                    }
                }
                if (s.saveIntermediate() != null) {
                    writers.apply(s.saveIntermediate()).write(video.intermediateFrames(), job.fps());
                    out.printf("Wrote the NI-VSDS result to %s%n", s.saveIntermediate());
                }
                double secs = (System.nanoTime() - t0) / 1e9;
                out.printf("Wrote %s: %d frames %dx%d at %d fps (seed %s) in %.1f s%n", s.output(), video.frames().size(),
                        job.width(), job.height(), job.fps(), Long.toUnsignedString(video.seed()), secs);
                timings.print(err, pipeline.setupWork());
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

    /** A failure of the video stream, carried out of the pipeline's listener call and thrown as it was. */
    private static final class VideoStreamFailure extends RuntimeException {
        VideoStreamFailure(IOException cause) { super(cause); }

        @Override public synchronized IOException getCause() { return (IOException) super.getCause(); }
    }

    /**
     * The generation with a progress bar of the denoising steps on stderr (and each stage's time when asked); each
     * decoded frame goes to {@code stream} (null: none), whose failure stops the generation.
     */
    private GeneratedVideo generate(LoadedPipeline pipeline, VideoRequest request, int steps, VideoStream stream) throws IOException {
        try (ProgressBar bar = new ProgressBarBuilder().setTaskName("Denoising").setInitialMax(steps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                .showSpeed().build()) {
            return pipeline.generate(request, new PipelineListener() {
                @Override public void frame(int index, int total, RgbImage frame) {
                    if (stream == null) return;
                    try {
                        stream.add(frame);
                    } catch (IOException e) {
                        throw new VideoStreamFailure(e);
                    }
                }

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
        } catch (VideoStreamFailure e) {
            throw e.getCause();
        }
    }
}
