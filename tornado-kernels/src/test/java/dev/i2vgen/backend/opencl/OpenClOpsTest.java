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
}
