package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;

/**
 * A compute backend (JVM, CUDA, OpenCL, ...). It owns device memory, kernel compilation and caching,
 * and execution. Model code never calls a backend: it builds task graphs, and the pipeline hands them
 * to the backend it was given.
 */
public interface Backend extends AutoCloseable {
    /** "jvm", "cuda", "opencl". */
    String name();

    /** The device in words, e.g. "JVM, 16 threads, AVX-512 (16 floats)" or "NVIDIA H100 80GB HBM3". */
    String deviceDescription();

    /** Compiles a frozen graph: uploads its constants once, plans intermediate buffers, prepares kernels. */
    ExecutionPlan compile(ImmutableTaskGraph graph);

    /**
     * Whether {@link #compile} may run on another thread while plans of this backend run (and while another compile
     * runs): a pipeline then builds the plans of its later stages ahead, beside the earlier stages. Only a backend
     * that was checked for it says so (CUDA); false by default.
     */
    default boolean compilesConcurrently() { return false; }

    /**
     * Frees what this backend keeps of {@code graph}'s constants for later plans (CUDA keeps weights on the device
     * between plans, so that the next generation does not upload them again) where no live plan holds them, and
     * answers the bytes freed; 0 where the backend keeps nothing such. A pipeline that builds a plan ahead calls it
     * for a stage it will not run again, so that the plan's buffers take the place of that stage's weights instead
     * of adding to the device's peak; a later plan with those constants uploads them again.
     */
    default long releaseConstants(ImmutableTaskGraph graph) { return 0; }

    /**
     * Starts, in the background, the one-time work that plans computing in {@code activation} will need (CUDA: the
     * kernel compilation), so that it overlaps whatever the caller does next (mapping the weights); returns at once.
     * Only a hint: {@link #compile} works without it.
     */
    default void prepare(dev.i2vgen.tensor.DType activation) {}

    /**
     * Time spent so far preparing work rather than computing, by kind (kernel compilation, algorithm searches,
     * weight uploads; thread time, not device time), and how much of it the plans being built waited for, for
     * {@code I2VGEN_TIMINGS=1}; empty where the backend has nothing such to report.
     */
    default java.util.List<SetupWork> setupWork() { return java.util.List.of(); }

    /** Releases device memory and compiled kernels. */
    @Override
    void close();
}
