package dev.i2vgen.spark;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.cli.GenerateArguments;
import dev.i2vgen.io.checkpoint.CheckpointFolder;
import dev.i2vgen.sampler.pipeline.PipelineListener;
import dev.i2vgen.sampler.pipeline.VideoPipeline;
import dev.i2vgen.sampler.pipeline.VideoPipelines;
import dev.i2vgen.tensor.DType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pipelines of this JVM (an executor, or the driver in local mode): one per checkpoint, backend, GPU address and
 * precision, created by the first task that needs it and kept for the JVM's life, so that later tasks (and later jobs)
 * find their weights loaded. They live in this static registry, never in a task's closure. One row at a time uses a
 * pipeline: tasks sharing a device (the JVM backend, or a GPU given to several tasks) take turns.
 */
final class ExecutorPipelines {
    /** Pipelines created in this JVM so far: numbers them for the device column. */
    private static final AtomicInteger CREATED = new AtomicInteger();
    private static final ConcurrentHashMap<Key, Slot> SLOTS = new ConcurrentHashMap<>();

    private ExecutorPipelines() {}

    /** What a pipeline is for: the same key shares one pipeline. */
    record Key(Path model, String backend, String gpuAddress, DType dtype) {}

    /** The slot of this key (its pipeline is created by the first row that runs in it). */
    static Slot slot(Key key) {
        return SLOTS.computeIfAbsent(key, Slot::new);
    }

    /** One pipeline, created on first use; a failed creation is retried by the next row. */
    static final class Slot {
        private final Key key;
        private VideoPipeline pipeline;
        private int number;

        private Slot(Key key) {
            this.key = key;
        }

        /** Writes the video of {@code args} (whose model, backend and precision are this slot's) on this slot's pipeline. */
        synchronized void writeVideo(GenerateArguments args, TaskDevice device) throws IOException {
            if (pipeline == null) open(device);
            args.writeVideo(pipeline, PipelineListener.NONE);
        }

        /** The number of this slot's pipeline among those created in this JVM (1, 2, ...), 0 before it exists. */
        synchronized int number() { return number; }

        private void open(TaskDevice device) {
            Backend b = device.openBackend(key.backend());
            try {
                CheckpointFolder.open(key.model()).validate();
                pipeline = VideoPipelines.fromPretrained(key.model(), b, key.dtype());
            } catch (RuntimeException | Error e) {
                try {
                    b.close();
                } catch (RuntimeException closing) {
                    e.addSuppressed(closing);
                }
                throw e;
            }
            number = CREATED.incrementAndGet();
        }
    }
}
