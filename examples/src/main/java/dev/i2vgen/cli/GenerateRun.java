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

        try {
            CheckpointFolder.open(modelDir).validate();
        } catch (CheckpointException e) {
            throw new CliErrors.BadInputException("the checkpoint folder is not usable:\n" + e.getMessage(), e);
        }
        RgbImage image = ImageLoader.read(imagePath);

        try (Backend backend = Backends.create(s.device())) {
            err.println("Device: " + backend.deviceDescription() + ", precision " + s.dtype() + ", " + s.pipeline());
            long t0 = System.nanoTime();
            GeneratedVideo video;
            try (VideoPipeline pipeline = VideoPipelines.fromPretrained(modelDir, backend, s.dtype());
                 ProgressBar bar = new ProgressBarBuilder().setTaskName("Denoising").setInitialMax(s.steps())
                    .setStyle(ProgressBarStyle.ASCII).setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(System.err))
                    .showSpeed().build()) {
                video = pipeline.generate(request(image, demo), new PipelineListener() {
                    @Override public void stage(String name) { bar.setExtraMessage(" " + name); }

                    @Override public void step(int index, int total, double timestep) { bar.stepTo(index + 1); }
                });
            }
            VideoWriters.forOutput(s.output()).write(video.frames(), s.fps());
            double secs = (System.nanoTime() - t0) / 1e9;
            out.printf("Wrote %s: %d frames %dx%d at %d fps (seed %d) in %.1f s%n", s.output(), video.frames().size(),
                    s.width(), s.height(), s.fps(), video.seed(), secs);
        }
        return 0;
    }

    /** The request of the checkpoint's model family. */
    private VideoRequest request(RgbImage image, boolean demo) {
        if (s.svd()) {
            return SvdGenerationRequest.builder(image).height(s.height()).width(s.width()).numFrames(s.frames()).steps(s.steps())
                    .minGuidance(s.minGuidance()).maxGuidance(s.maxGuidance()).fps(s.fps()).motionBucketId(s.motionBucketId())
                    .noiseAugStrength(s.noiseAugStrength()).decodeChunkSize(s.decodeChunk()).seed(s.seed()).build();
        }
        String prompt = s.prompt() != null ? s.prompt() : DemoModel.PROMPT;
        String negative = s.negativePrompt() != null ? s.negativePrompt() : (demo && s.prompt() == null ? DemoModel.NEGATIVE_PROMPT : null);
        return new GenerationRequest(prompt, negative, image, s.height(), s.width(), s.frames(), s.steps(), s.guidance(),
                s.fps(), s.eta(), s.seed(), s.decodeChunk(), 1);
    }
}
