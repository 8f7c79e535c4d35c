package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two plans joined by a {@link PlanLink}, run as a loop the way CFG-parallel runs its exchange: every run the source
 * computes y_k from that run's x_k through {@code depth} element-wise passes (on a GPU, long enough that a target that
 * did not wait for the copy would read the previous run's value), the link sends y_k into the target's input z, and
 * the target accumulates acc ← acc + z, carried on its own backend by {@code copy}. Every run is submitted (no host
 * wait where the backend is asynchronous); only the final sum is read, and it must equal Σ y_k computed on the host
 * (checked at a sample of elements, so that large GPU cases stay cheap on the host).
 */
public record LinkedLoopCase(int rows, int cols, int depth, int runs, DType targetDtype) {
    /** Opens the link between the two plans (the route under test). */
    @FunctionalInterface
    public interface LinkFactory {
        PlanLink open(ExecutionPlan source, Value output, ExecutionPlan target, Value input);
    }

    static final LinkFactory DEFAULT = ExecutionPlan::linkTo;

    public ImmutableTaskGraph sourceGraph() {
        TaskGraph g = new TaskGraph("link_source", DType.F32);
        Value y = g.input("x", DType.F32, rows, cols);
        for (int i = 0; i < depth; i++) y = g.affine(g.unary(y, Unary.Kind.TANH), 0.9f, 0.05f);
        g.output("y", y);
        return g.freeze();
    }

    public ImmutableTaskGraph targetGraph() {
        TaskGraph g = new TaskGraph("link_target", targetDtype);
        Value acc = g.input("acc", targetDtype, rows, cols);
        Value z = g.input("z", targetDtype, rows, cols);
        g.output("next", g.add(acc, z));
        return g.freeze();
    }

    /** Runs the loop with the source on {@code a} and the target on {@code b}; returns the link's route. */
    public String check(Backend a, Backend b, LinkFactory links) {
        ImmutableTaskGraph sg = sourceGraph(), tg = targetGraph();
        SplittableRandom random = new SplittableRandom(11);
        int n = rows * cols, stride = Math.max(1, n / 4096);
        double[] expected = new double[(n + stride - 1) / stride];
        try (ExecutionPlan source = a.compile(sg); ExecutionPlan target = b.compile(tg)) {
            target.bind("acc", Tensor.allocate(DType.F32, rows, cols));
            String route;
            try (PlanLink link = links.open(source, sg.output("y"), target, tg.input("z"))) {
                route = link.route();
                for (int k = 0; k < runs; k++) {
                    float[] x = new float[n];
                    for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
                    source.submit(Map.of(sg.input("x"), Tensor.fromFloats(x, rows, cols)));
                    link.transfer();
                    target.submit(Map.of());
                    target.copy("next", "acc");
                    for (int s = 0, i = 0; i < n; i += stride, s++) {
                        double y = x[i];
                        for (int d = 0; d < depth; d++) y = 0.9 * Math.tanh(y) + 0.05;
                        expected[s] += y;
                    }
                }
            }
            Tensor sum = target.read("next");
            double worst = 0;
            for (int s = 0, i = 0; i < n; i += stride, s++) {
                double err = Math.abs(sum.getFlat(i) - expected[s]) / Math.max(1.0, Math.abs(expected[s]));
                worst = Math.max(worst, Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
            }
            // rounding of z and of each sum in the target's dtype; a stale or torn copy is off by O(1)
            double tolerance = runs * switch (targetDtype) {
                case F32 -> 1e-5;
                case F16 -> 2e-3;
                default -> 2e-2;
            };
            String what = a.name() + " → " + b.name() + " (" + route + "), " + targetDtype + " target";
            assertTrue(worst <= tolerance, what + ": the sum of " + runs + " linked runs is off by " + worst + " (relative)");
            return route;
        }
    }
}
