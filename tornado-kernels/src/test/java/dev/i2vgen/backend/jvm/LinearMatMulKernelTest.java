package dev.i2vgen.backend.jvm;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static dev.i2vgen.backend.jvm.OpHarness.*;

/** Linear and MatMul (the packed SGEMM) against float64 loops, across block boundaries and weight dtypes. */
class LinearMatMulKernelTest {

    static double[] linearRef(double[] x, int rows, int k, double[] w, int n, double[] b) {
        double[] y = new double[rows * n];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) {
                double s = b == null ? 0 : b[j];
                for (int i = 0; i < k; i++) s += x[r * k + i] * w[j * k + i];
                y[r * n + j] = s;
            }
        return y;
    }

    @ParameterizedTest
    @CsvSource({
            "1, 1, 1, true, F32", "3, 5, 7, true, F32", "10, 37, 29, false, F32",
            "130, 300, 70, true, F32",     // M > MC, K > KC: several packed blocks
            "7, 50, 4200, true, F32",      // N > NC
            "13, 64, 33, true, F16", "13, 64, 33, true, BF16"})
    void linearMatchesReference(int rows, int k, int n, boolean bias, DType weightType) {
        Random rnd = new Random(rows * 31L + k * 7L + n);
        Tensor x = tensor(random(rnd, rows * k, 1), DType.F32, 1, rows, k);
        Tensor w = tensor(random(rnd, n * k, 0.5), weightType, n, k);
        Tensor b = bias ? tensor(random(rnd, n, 1), weightType, n) : null;
        Tensor y = run(Map.of("x", x), g -> g.g.linear(g.in("x", x), g.constant("w", w), b == null ? null : g.constant("b", b)));
        // the reference consumes the weights as stored (F16/BF16 rounded): the kernel must widen them exactly
        assertClose(y, new int[]{1, rows, n}, linearRef(values(x), rows, k, values(w), n, b == null ? null : values(b)), F32_TOL);
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1, 1, false", "2, 9, 17, 5, false", "3, 9, 17, 5, true", "2, 131, 260, 40, true", "4, 16, 8, 16, false"})
    void batchedMatMulMatchesReference(int batch, int m, int k, int n, boolean transposeB) {
        Random rnd = new Random(batch + m * 13L + k * 101L + n);
        float alpha = 0.37f;
        Tensor a = tensor(random(rnd, batch * m * k, 1), DType.F32, batch, m, k);
        Tensor b = transposeB ? tensor(random(rnd, batch * n * k, 1), DType.F32, batch, n, k)
                : tensor(random(rnd, batch * k * n, 1), DType.F32, batch, k, n);
        Tensor y = run(Map.of("a", a, "b", b), g -> g.g.matmul(g.in("a", a), g.in("b", b), transposeB, alpha));
        double[] av = values(a), bv = values(b), ref = new double[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double bb = transposeB ? bv[(bi * n + j) * k + p] : bv[(bi * k + p) * n + j];
                        s += av[(bi * m + i) * k + p] * bb;
                    }
                    ref[(bi * m + i) * n + j] = alpha * s;
                }
        assertClose(y, new int[]{batch, m, n}, ref, F32_TOL);
    }

    @Test
    void matMulWithSharedRank2B() {
        Random rnd = new Random(5);
        int batch = 3, m = 7, k = 11, n = 19;
        Tensor a = tensor(random(rnd, batch * m * k, 1), DType.F32, batch, m, k);
        Tensor b = tensor(random(rnd, k * n, 1), DType.F32, k, n);
        Tensor y = run(Map.of("a", a), g -> g.g.matmul(g.in("a", a), g.constant("b", b), false, 1f));
        double[] av = values(a), bv = values(b), ref = new double[batch * m * n];
        for (int bi = 0; bi < batch; bi++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += av[(bi * m + i) * k + p] * bv[p * n + j];
                    ref[(bi * m + i) * n + j] = s;
                }
        assertClose(y, new int[]{batch, m, n}, ref, F32_TOL);
    }
}
