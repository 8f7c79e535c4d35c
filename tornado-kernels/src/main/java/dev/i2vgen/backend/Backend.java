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
