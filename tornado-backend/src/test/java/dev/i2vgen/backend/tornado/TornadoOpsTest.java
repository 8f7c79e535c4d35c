package dev.i2vgen.backend.tornado;

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
 * Every op as a TornadoVM kernel against the JVM backend on the same random data (the shared cases of
 * {@link OpsAgainstJvm}, and here: rounding and LinearCombination bit for bit, the non-finite flag). Skips with the reason when TornadoVM is not on this JVM.
 */
class TornadoOpsTest extends OpsAgainstJvm {
    @BeforeAll
    static void open() {
        BackendProvider p = Backends.provider("tornado");
        Assumptions.assumeTrue(p.isAvailable(), "TornadoVM backend unavailable: " + p.unavailableReason());
        device = Backends.create("tornado");
        System.out.println("TornadoVM device: " + device.deviceDescription());
    }

    /**
     * Rounding to fp16/bf16 bit for bit against the JVM's (Java's own conversions): magnitudes from fp32 subnormals
     * to overflow, ties, and the fp16 subnormal range.
     */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16"})
    void roundingIsExact(String dtype) {
        DType target = DType.valueOf(dtype);
        float[] v = new float[4000];
        for (int i = 0; i < v.length; i++) {
            double magnitude = Math.pow(2, RND.nextInt(300) - 150);
            v[i] = (float) (RND.nextGaussian() * magnitude);
        }
        v[0] = 65519f; v[1] = 65520f; v[2] = -65535f; v[3] = Float.intBitsToFloat(0x7F7FFFFF); v[4] = Float.MIN_VALUE;
        v[5] = 1.00048828125f;   // a tie at fp16 precision: 1 + 2^-11
        v[6] = 1.00390625f;      // a tie at bf16 precision: 1 + 2^-8
        v[7] = Float.intBitsToFloat(0x00018000);   // a tie among fp32 subnormals at bf16 precision
        v[8] = 3.0517578125e-05f * 1.5f;           // fp16 subnormal range
        v[9] = -0.0f;
        Map<String, Tensor> inputs = in("x", Tensor.fromFloats(v, v.length));
        Build build = (g, x) -> g.affine(g.cast(x.get("x"), target), 1f, 0f);
        Tensor expected = run(jvm, DType.F32, inputs, build), actual = run(device, DType.F32, inputs, build);
        for (int k = 0; k < v.length; k++) {
            int i = k;
            int want = Float.floatToRawIntBits(expected.getFlat(i)), got = Float.floatToRawIntBits(actual.getFlat(i));
            assertEquals(want, got, () -> v[i] + " to " + target + ": " + actual.getFlat(i) + ", expected " + expected.getFlat(i));
        }
    }

    /** LinearCombination's contract (c0·t0, then one fma per term in order) bit for bit, as the JVM backend computes it. */
    @Test
    void linearCombinationIsExact() {
        for (int k = 1; k <= 8; k++) {
            int terms = k;
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            inputs.put("c", random(terms));
            for (int i = 0; i < terms; i++) inputs.put((i % 2 == 0 ? "w:t" : "t") + i, random(3, 5, 67));
            exact("linear_combination " + k, inputs, (g, v) -> {
                Value[] ts = new Value[terms];
                for (int i = 0; i < terms; i++) ts[i] = v.get((i % 2 == 0 ? "w:t" : "t") + i);
                return g.linearCombination(v.get("c"), ts);
            });
        }
    }

    /** The non-finite flag: the previous flag kept, else step + 1 where x holds NaN or ±Inf, else 0. */
    @ParameterizedTest
    @ValueSource(floats = {0f, 3f})
    void nonFiniteFlag(float previous) {
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1f}) {
            Tensor x = random(4, 33);
            x.setFlat(77, bad);
            exact("nonfinite " + bad + " after " + previous, in("x", x, "p", Tensor.fromFloats(new float[]{previous}, 1),
                    "s", Tensor.fromFloats(new float[]{6f}, 1)), (g, v) -> g.nonFiniteFlag(v.get("x"), v.get("p"), v.get("s")));
        }
    }
}
