package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/** UniPC's float32 linear solve: torch.linalg.solve's exact float32 results, and a correct solve in any case. */
class UniPcLinearSolveTest {

    /** Every system diffusers handed torch.linalg.solve in the fixture runs (sizes 2–6): the same float32 bits. */
    @Test
    void reproducesTorchsSolutionsBitForBit() throws IOException {
        JsonNode solves = UniPcMultistepFixtureTest.fixture().get("solves");
        TreeMap<Integer, Integer> perSize = new TreeMap<>();
        for (JsonNode s : solves) {
            JsonNode rows = s.get("a");
            float[][] a = new float[rows.size()][];
            for (int i = 0; i < a.length; i++) a[i] = UniPcMultistepFixtureTest.floats(rows.get(i));
            float[] b = UniPcMultistepFixtureTest.floats(s.get("b"));
            float[] expected = UniPcMultistepFixtureTest.floats(s.get("x"));
            float[] x = UniPcLinearSolve.solve(a, b);
            for (int i = 0; i < x.length; i++) {
                assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(x[i]), "size " + a.length
                        + " system " + s + ": x[" + i + "] = " + x[i] + ", torch " + expected[i]);
            }
            perSize.merge(a.length, 1, Integer::sum);
        }
        assertEquals(5, perSize.size(), "the fixture covers sizes 2 to 6: " + perSize);
    }

    /** Independently of torch's rounding: the residual of random well-conditioned systems is at float32 level. */
    @Test
    void solvesRandomSystems() {
        Random random = new Random(7);
        for (int n = 1; n <= 7; n++) {
            for (int trial = 0; trial < 50; trial++) {
                float[][] a = new float[n][n];
                float[] b = new float[n];
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < n; j++) a[i][j] = (float) random.nextGaussian();
                    a[i][i] += 3 * n;   // diagonally dominant: condition number near 1
                    b[i] = (float) random.nextGaussian();
                }
                float[][] copy = new float[n][];
                for (int i = 0; i < n; i++) copy[i] = a[i].clone();
                float[] bCopy = b.clone();
                float[] x = UniPcLinearSolve.solve(a, b);
                for (int i = 0; i < n; i++) {
                    double r = -b[i];
                    for (int j = 0; j < n; j++) r += (double) a[i][j] * x[j];
                    assertEquals(0, r, 1e-5, "n=" + n + " residual row " + i);
                    assertArrayEquals(copy[i], a[i], "the matrix is left alone");
                }
                assertArrayEquals(bCopy, b, "the right-hand side is left alone");
            }
        }
    }

    /** Partial pivoting: a zero in the leading position needs a row swap, and the answer is exact here. */
    @Test
    void pivotsOnTheLargestEntry() {
        float[] x = UniPcLinearSolve.solve(new float[][]{{0, 2, 0}, {1, 0, 0}, {0, 0, 4}}, new float[]{4, 3, 8});
        assertArrayEquals(new float[]{3, 2, 2}, x);
    }

    /** torch raises its LinAlgError on an exactly zero pivot; so does the port, with torch's message. */
    @Test
    void singularMatrixFailsWithTorchsMessage() {
        ArithmeticException e = assertThrows(ArithmeticException.class,
                () -> UniPcLinearSolve.solve(new float[][]{{1, 1}, {0, 0}}, new float[]{1, 2}));
        assertEquals("torch.linalg.solve: The solver failed because the input matrix is singular.", e.getMessage());
        assertThrows(ArithmeticException.class,
                () -> UniPcLinearSolve.solve(new float[][]{{1, 2, 3}, {2, 4, 6}, {1, 0, 1}}, new float[]{1, 2, 3}));
        assertThrows(IllegalArgumentException.class, () -> UniPcLinearSolve.solve(new float[][]{{1, 2}}, new float[]{1, 2}));
    }
}
