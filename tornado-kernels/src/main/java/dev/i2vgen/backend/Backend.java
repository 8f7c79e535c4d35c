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
     * Time spent so far preparing work rather than computing, by kind (kernel compilation, algorithm searches,
     * weight uploads; thread time of the calls, not device time), for {@code I2VGEN_TIMINGS=1}; empty where the
     * backend has nothing such to report.
     */
    default java.util.Map<String, java.time.Duration> setupTimes() { return java.util.Map.of(); }

    /** Releases device memory and compiled kernels. */
    @Override
    void close();
}
