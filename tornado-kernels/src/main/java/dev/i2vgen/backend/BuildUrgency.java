package dev.i2vgen.backend;

import java.util.function.Supplier;

/**
 * How soon the plan being built on this thread is needed: 0 (the default) for a stage about to run, a higher rank for a
 * plan built ahead of a later stage ({@code PlansAhead}). A backend that queues plan-building work behind other plans'
 * (the CUDA backend's weight uploads) serves lower ranks first, so that a plan built ahead of the denoising loop does
 * not hold back the uploads of the text encoder the run is waiting for. Only an order, never a correctness matter.
 */
public final class BuildUrgency {
    /** The rank of a stage about to run: what is not built ahead. */
    public static final int NOW = 0;

    private static final ScopedValue<Integer> RANK = ScopedValue.newInstance();

    private BuildUrgency() {}

    /** Runs {@code build} (a compile) with the given rank: 1 for the first later stage, 2 for the next, and so on. */
    public static <T> T ahead(int rank, Supplier<T> build) {
        if (rank <= NOW) throw new IllegalArgumentException("rank " + rank + ": a plan built ahead has rank 1 or more");
        return ScopedValue.where(RANK, rank).call(build::get);
    }

    /** The rank of the plan built on this thread ({@link #NOW} outside {@link #ahead}). */
    public static int current() { return RANK.orElse(NOW); }
}
