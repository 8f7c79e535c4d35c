package dev.i2vgen.cli;

import dev.i2vgen.backend.SetupWork;
import dev.i2vgen.sampler.pipeline.GeneratedVideo;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoRequest;
import dev.i2vgen.tensor.DType;

import java.util.List;

/**
 * A pipeline built on its backend ({@link ModelCheckpoint#load}): the weights stay resident between generations, so a
 * server loads it once. Not for concurrent use: one generation at a time. Closing it closes the pipeline, then the
 * backend.
 */
public final class LoadedPipeline implements AutoCloseable {
    private final DeviceBackends backends;
    private final VideoPipeline pipeline;
    private final DType dtype;

    LoadedPipeline(DeviceBackends backends, VideoPipeline pipeline, DType dtype) {
        this.backends = backends;
        this.pipeline = pipeline;
        this.dtype = dtype;
    }

    /** "Device: ..., precision ..., PipelineClass", as the command line prints it. */
    public String description() {
        return "Device: " + backends.description() + ", precision " + dtype + ", " + pipeline.pipelineClass();
    }

    public String deviceDescription() { return backends.description(); }

    /**
     * The backend's setup work so far (kernel compilation, algorithm searches, weight uploads), then the pipeline's (its
     * plans built ahead and the stages' waits for them), for I2VGEN_TIMINGS.
     */
    public List<SetupWork> setupWork() {
        List<SetupWork> work = new java.util.ArrayList<>(backends.first().setupWork());
        work.addAll(pipeline.setupWork());
        return work;
    }

    public GeneratedVideo generate(VideoRequest request, PipelineListener listener) { return pipeline.generate(request, listener); }

    @Override
    public void close() {
        try {
            pipeline.close();
        } finally {
            backends.close();
        }
    }
}
