package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.OpsAgainstJvm;
import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.Binary;
import dev.i2vgen.graph.ops.Conv2d;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op on the OpenCL device against the JVM backend on the same random data (the shared cases of
 * {@link OpsAgainstJvm}, and here: F16/BF16 weights widened at upload, F16/BF16 activations rounded like the JVM's,
 * attention, bindings and copies). Skips with the reason when no OpenCL device is usable.
 */
class OpenClOpsTest extends OpsAgainstJvm {
    @BeforeAll
    static void open() {
        BackendProvider p = Backends.provider("opencl");
        Assumptions.assumeTrue(p.isAvailable(), "OpenCL backend unavailable: " + p.unavailableReason());
        device = OpenClBackend.create();
        System.out.println("OpenCL device: " + device.deviceDescription());
    }

    /** Weights stored in F16/BF16 are widened to fp32 at upload: same result as the JVM's widening. */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void narrowWeights(String dtype) {
        DType w = DType.valueOf(dtype);
        compare("linear " + w + " weights", in("x", random(3, 20), "w:w", random(11, 20).to(w), "w:b", random(11).to(w)),
                (g, v) -> g.linear(v.get("x"), v.get("w:w"), v.get("w:b")));
        compare("conv " + w + " weights", in("x", random(1, 3, 6, 7), "w:w", random(4, 3, 3, 3).to(w)),
                (g, v) -> g.conv2d(v.get("x"), v.get("w:w"), null, 1, 1));
    }

    /** F16/BF16 activation graphs: every value rounded like the JVM backend rounds it. */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void narrowActivations(String dtype) {
        DType act = DType.valueOf(dtype);
        compare("linear+gelu " + act, act, 1e-2, in("x", random(3, 20), "w:w", random(11, 20), "w:b", random(11)),
                (g, v) -> g.unary(g.linear(v.get("x"), v.get("w:w"), v.get("w:b")), Unary.Kind.GELU));
    }

    @Test
    void attention() {
        compare("attention 3 heads Lq!=Lk", in("q", random(2, 37, 48), "k", random(2, 50, 48), "v", random(2, 50, 48)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 3, 0.25f, false));
        compare("attention causal 2 heads", in("q", random(1, 45, 32), "k", random(1, 45, 32), "v", random(1, 45, 32)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 2, 0.25f, true));
        compare("attention dk!=dv", in("q", random(3, 5, 24), "k", random(3, 70, 24), "v", random(3, 70, 40)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 4, 0.3f, false));
        compare("attention 1 head d128", in("q", random(1, 20, 128), "k", random(1, 33, 128), "v", random(1, 33, 128)),
                (g, v) -> g.attention(v.get("q"), v.get("k"), v.get("v"), 1, (float) (1 / Math.sqrt(128)), false));
    }

    /** One plan run twice with new inputs, then with bindings and a device-side copy (a loop-carried state). */
    @Test
    void runsTwiceAndBindsAndCopies() {
        TaskGraph g = new TaskGraph("loop", DType.F32);
        Value x = g.input("x", DType.F32, 3, 7), w = g.constant("w", random(7, 7)), s = g.input("s", DType.F32, 3, 7);
        Value y = g.add(g.linear(x, w, null), s);
        g.output("y", y);
        ImmutableTaskGraph frozen = g.freeze();
        try (ExecutionPlan a = device.compile(frozen); ExecutionPlan b = jvm.compile(frozen)) {
            for (int run = 0; run < 2; run++) {
                Map<String, Tensor> inputs = Map.of("x", random(3, 7), "s", random(3, 7));
                a.executeByName(inputs);
                b.executeByName(inputs);
                assertTrue(TensorComparison.relativeError(a.read("y"), b.read("y")) <= 1e-5, "run " + run);
            }
            Tensor s0 = random(3, 7), x0 = random(3, 7);
            for (ExecutionPlan p : new ExecutionPlan[]{a, b}) {
                p.bind("s", s0);
                p.bind("x", x0);
                p.execute();
                for (int step = 0; step < 3; step++) {
                    p.copy("y", "x");   // x ← y on the device
                    p.execute();
                }
            }
            double err = TensorComparison.relativeError(a.read("y"), b.read("y"));
            System.out.printf("bind/copy loop rel.err %.3e%n", err);
            assertTrue(err <= 1e-5, "bind/copy loop: " + err);
            assertThrows(IllegalArgumentException.class, () -> a.bind("x", random(2, 7)));
        }
    }
}
