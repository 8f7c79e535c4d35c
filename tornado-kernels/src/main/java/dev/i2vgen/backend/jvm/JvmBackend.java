package dev.i2vgen.backend.jvm;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.ImmutableTaskGraph;

/**
 * Runs task graphs on the CPU with the Vector API and the ForkJoin common pool. Activations are kept
 * in F32 buffers (F16/BF16 graphs round each result to their storage precision); F32 weights are used
 * in place, F16/BF16 weights are widened once per backend into off-heap F32 copies shared by its plans.
 */
public final class JvmBackend implements Backend {
    private final WidenedConstants constants = new WidenedConstants();

    public String name() { return "jvm"; }

    public String deviceDescription() {
        return "JVM, " + Parallel.threads() + " threads, " + F32.SPECIES.vectorBitSize() + "-bit vectors (" + F32.LANES + " floats)";
    }

    public ExecutionPlan compile(ImmutableTaskGraph graph) { return new JvmExecutionPlan(graph, constants); }

    /**
     * False, though its compile would be safe beside running plans (per-plan state, a concurrent cache of widened
     * weights): its plans already run on every core, so a plan built beside them takes cores from the run, and the
     * host memory it would hold earlier is not given back ({@link #releaseConstants} frees nothing).
     */
    @Override
    public boolean compilesConcurrently() { return false; }

    /** Off-heap bytes of weights widened from F16/BF16 (shared by all plans of this backend). */
    public long widenedConstantBytes() { return constants.widenedBytes(); }

    /** Frees the widened weights; plans of this backend must not run afterwards. */
    public void close() { constants.close(); }
}
