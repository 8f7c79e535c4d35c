package dev.i2vgen.model.unet;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The matrix-product AdaptiveAvgPool2d against a direct window average (PyTorch's window rule). */
class AdaptiveAvgPoolTest {

    @ParameterizedTest
    @CsvSource({"88,160,32,32", "16,24,32,32", "7,5,3,4", "32,32,32,32"})
    void matchesDirectWindowAverage(int h, int w, int outH, int outW) {
        int n = 2, c = 3;
        Random r = new Random(h * 1000L + w);
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();

        TaskGraph g = new TaskGraph("pool", DType.F32);
        Value in = g.input("x", DType.F32, n, c, h, w);
        // "+ zero" gives the identity case (32×32 → 32×32, no task) a task-produced output.
        g.output("y", g.add(AdaptiveAvgPool.build(g, "pool", in, outH, outW), g.input("zero", DType.F32, 1)));
        Tensor actual;
        try (Backend backend = Backends.create("jvm"); ExecutionPlan plan = backend.compile(g.freeze())) {
            plan.executeByName(Map.of("x", Tensor.fromFloats(x, n, c, h, w), "zero", Tensor.fromFloats(new float[]{0f}, 1)));
            actual = plan.read("y");
        }

        float[] expected = new float[n * c * outH * outW];
        for (int p = 0; p < n * c; p++) {
            for (int i = 0; i < outH; i++) {
                int y0 = (i * h) / outH, y1 = ((i + 1) * h + outH - 1) / outH;
                for (int j = 0; j < outW; j++) {
                    int x0 = (j * w) / outW, x1 = ((j + 1) * w + outW - 1) / outW;
                    double sum = 0;
                    for (int yy = y0; yy < y1; yy++) for (int xx = x0; xx < x1; xx++) sum += x[(p * h + yy) * w + xx];
                    expected[(p * outH + i) * outW + j] = (float) (sum / ((y1 - y0) * (x1 - x0)));
                }
            }
        }
        assertArrayEquals(new int[]{n, c, outH, outW}, actual.shape());
        double rel = TensorComparison.relativeError(actual, Tensor.fromFloats(expected, n, c, outH, outW));
        assertTrue(rel <= 1e-6, "relative error " + rel);
    }
}
