package dev.i2vgen.backend;

import dev.i2vgen.graph.Value;

import java.util.Arrays;

/**
 * A standing copy of an output of one plan into an input of another plan, possibly on another backend: made once by
 * {@link ExecutionPlan#linkTo}, run by {@link #transfer} as often as a loop needs (the exchange of the two halves of
 * the guidance batch between two devices, every denoising step). After a transfer the target's input is bound to the
 * value the source's last run (or submitted run) gave the output, as {@link ExecutionPlan#copy} binds within one plan;
 * the source keeps its output. Between two CUDA backends the copy stays on the devices (a peer copy, or staged through
 * page-locked host memory where the GPUs cannot reach each other) and is ordered by events, so the host never waits;
 * between any other pair it goes through the host.
 */
public interface PlanLink extends AutoCloseable {
    /** Copies the source's output of its last run into the target's input binding (enqueued where the backends queue work). */
    void transfer();

    /** How the copy travels, in words, for logs and benchmarks ("through the host", "CUDA peer copy", ...). */
    String route();

    /** Releases what the link holds (events, staging buffers); the plans stay open. */
    @Override
    void close();

    /** The link every pair of backends can use: the output read to the host, then bound to the input. */
    static PlanLink throughHost(ExecutionPlan source, Value output, ExecutionPlan target, Value input) {
        checkEnds(source, output, target, input);
        return new PlanLink() {
            private boolean closed;

            @Override
            public void transfer() {
                if (closed) throw new IllegalStateException("link " + describe(source, output, target, input) + " is closed");
                target.bind(input, source.read(output));
            }

            @Override public String route() { return "through the host"; }

            @Override public void close() { closed = true; }
        };
    }

    /**
     * The checks every link makes when it is made: {@code output} is an output of the source's graph, {@code input} an
     * input of the target's, of the same shape; their dtypes may differ (the value is converted, as by {@code copy}).
     */
    static void checkEnds(ExecutionPlan source, Value output, ExecutionPlan target, Value input) {
        if (!source.graph().outputs().containsValue(output)) {
            throw new IllegalArgumentException("link from graph " + source.graph().name() + ": " + output + " is not an output of that graph");
        }
        if (input.kind() != Value.Kind.INPUT || target.graph().inputs().get(input.name()) != input) {
            throw new IllegalArgumentException("link to graph " + target.graph().name() + ": " + input + " is not an input of that graph");
        }
        if (!Arrays.equals(output.shape(), input.shape())) {
            throw new IllegalArgumentException("link " + describe(source, output, target, input) + ": shape "
                    + Arrays.toString(output.shape()) + " differs from " + Arrays.toString(input.shape()));
        }
    }

    /** "graph a output 'x' → graph b input 'y'", for messages. */
    static String describe(ExecutionPlan source, Value output, ExecutionPlan target, Value input) {
        return source.graph().name() + " output '" + outputName(source, output) + "' → " + target.graph().name()
                + " input '" + input.name() + "'";
    }

    private static String outputName(ExecutionPlan plan, Value output) {
        return plan.graph().outputs().entrySet().stream().filter(e -> e.getValue() == output).map(java.util.Map.Entry::getKey)
                .findFirst().orElse(String.valueOf(output));
    }
}
