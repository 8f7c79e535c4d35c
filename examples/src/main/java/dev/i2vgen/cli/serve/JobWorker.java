package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.CliErrors;
import dev.i2vgen.cli.LoadedPipeline;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.video.GifVideoWriter;
import dev.i2vgen.io.video.Mp4VideoWriter;
import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.GenerationCancelledException;
import dev.i2vgen.sampler.pipeline.PipelineListener;

import java.nio.file.Path;

/**
 * The one thread that runs jobs on the device, one at a time, with the pipeline loaded once. A job that fails (an
 * image that does not decode, out of memory, NaN latents) fails alone with the command line's one-line message; the
 * worker goes on with the next. Videos are written atomically ({@code <id>.mp4}, then {@code <id>.gif}) to the output
 * folder, so a reader never sees half a file.
 */
final class JobWorker implements Runnable {
    private static final System.Logger LOG = System.getLogger(JobWorker.class.getName());

    private final LoadedPipeline pipeline;
    private final JobStore store;
    private final Path outputDir;
    private final JobHooks hooks;

    JobWorker(LoadedPipeline pipeline, JobStore store, Path outputDir, JobHooks hooks) {
        this.pipeline = pipeline;
        this.store = store;
        this.outputDir = outputDir;
        this.hooks = hooks;
    }

    @Override
    public void run() {
        try {
            for (Job job = store.takeNext(); job != null; job = store.takeNext()) {
                long t0 = System.nanoTime();
                try {
                    runJob(job);
                } finally {
                    JobStore.deleteQuietly(job.upload());
                    store.finished(job, (System.nanoTime() - t0) / 1e9);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void runJob(Job job) {
        Path mp4 = outputDir.resolve(job.id() + ".mp4"), gif = outputDir.resolve(job.id() + ".gif");
        try {
            GeneratedVideo video = pipeline.generate(job.parameters().toRequest(ImageLoader.read(job.upload())), listener(job));
            if (job.cancelRequested()) {   // asked while the frames were decoded: nothing is written
                job.cancelled();
                return;
            }
            job.stage("write the video");
            new Mp4VideoWriter(mp4).write(video.frames(), job.parameters().fps());
            new GifVideoWriter(gif).write(video.frames(), job.parameters().fps());
            job.succeed(mp4, gif);
        } catch (GenerationCancelledException e) {
            job.cancelled();
        } catch (Exception | Error e) {   // out of memory, a fault reading a weight file, ...: the job fails, the server goes on
            String message = CliErrors.message(e);
            if (System.getenv("I2VGEN_DEBUG") != null) LOG.log(System.Logger.Level.WARNING, "job " + job.id() + " failed", e);
            else LOG.log(System.Logger.Level.WARNING, "job " + job.id() + " failed: " + message);
            JobStore.deleteQuietly(mp4);   // the MP4 of a job whose GIF could not be written
            job.fail(message);
        }
    }

    /** Reports stages and steps to the job and stops the run at the next step once it is cancelled. */
    private PipelineListener listener(Job job) {
        return new PipelineListener() {
            @Override public void stage(String name) { job.stage(name); }

            @Override public void step(int index, int total, double timestep) {
                job.progress(index + 1, total);
                hooks.afterStep(job.id(), index + 1, total);
            }

            @Override public boolean cancelled() { return job.cancelRequested(); }
        };
    }
}
