package dev.i2vgen.sampler.scheduler;

/**
 * {@code torch.linalg.solve(A, b)} for UniPC's small float32 systems (order ≤ 6 or so), with the rounding of the
 * LAPACK that torch's CPU build calls (MKL 2024.2: getrf, then getrs), so that UniPC's ρ coefficients come out as
 * diffusers' bit for bit. The operation order was found by matching MKL's factors and solutions on this host
 * (AVX-512) exactly, over 5,424 systems of sizes 2–6 taken from diffusers' UniPC runs:
 * <ul>
 *   <li>getrf: right-looking LU with partial pivoting (first largest |a| of the column), no fused multiply-add;
 *       the multipliers below a pivot are scaled by its float32 reciprocal, except, for n ≤ 4, in the
 *       second-to-last column (a single multiplier), which is divided by the pivot;</li>
 *   <li>getrs: forward and back substitution with each dot product summed on its own and then subtracted (the
 *       forward sums run over ascending columns, the backward ones from the last column down), and each unknown
 *       multiplied by the float32 reciprocal of its diagonal element.</li>
 * </ul>
 * Other LAPACK builds (OpenBLAS, another MKL code path or CPU) may order these operations differently; their
 * solutions then differ from these by rounding, within the usual LU bound of a few ulps times the condition number.
 * Measured on the same systems, the other orders tried (factorising Aᵀ, fused multiply-adds, division instead of
 * the reciprocal, running sums) differ from MKL by up to 3e-6 relative for the 2×2 and 3×3 systems of order 3 and
 * up to 1e-3 for the ill-conditioned 6×6 ones of order 6; in UniPC's output such ρ differences stay below 1e-6
 * relative for order ≤ 3 (the higher-order terms are small corrections).
 */
final class UniPcLinearSolve {
    /** torch's message when getrf meets an exactly zero pivot. */
    static final String SINGULAR = "torch.linalg.solve: The solver failed because the input matrix is singular.";

    private UniPcLinearSolve() {}

    /**
     * Solves {@code a·x = b} in float32.
     *
     * @param a the n×n matrix, row-major ({@code a[row][column]}); not modified
     * @param b the right-hand side; not modified
     * @throws ArithmeticException with torch's message when a pivot is exactly zero
     */
    static float[] solve(float[][] a, float[] b) {
        int n = b.length;
        if (a.length != n) throw new IllegalArgumentException("solve: a " + a.length + "×… matrix for " + n + " unknowns");
        float[][] lu = new float[n][];
        for (int i = 0; i < n; i++) {
            if (a[i].length != n) throw new IllegalArgumentException("solve: row " + i + " has " + a[i].length + " values, expected " + n);
            lu[i] = a[i].clone();
        }
        int[] pivots = factor(lu);
        float[] x = b.clone();
        for (int i = 0; i < n; i++) swap(x, i, pivots[i]);
        for (int i = 1; i < n; i++) {   // L·y = P·b, L unit lower
            float sum = lu[i][0] * x[0];
            for (int k = 1; k < i; k++) sum += lu[i][k] * x[k];
            x[i] = x[i] - sum;
        }
        for (int i = n - 1; i >= 0; i--) {   // U·x = y
            if (i < n - 1) {
                float sum = lu[i][n - 1] * x[n - 1];
                for (int k = n - 2; k > i; k--) sum += lu[i][k] * x[k];
                x[i] = x[i] - sum;
            }
            x[i] = x[i] * (1.0f / lu[i][i]);
        }
        return x;
    }

    /** In-place LU with partial pivoting (L unit lower below the diagonal, U on and above); returns the row swaps. */
    private static int[] factor(float[][] lu) {
        int n = lu.length;
        int[] pivots = new int[n];
        for (int j = 0; j < n; j++) {
            int p = j;
            float max = Math.abs(lu[j][j]);
            for (int i = j + 1; i < n; i++) {
                if (Math.abs(lu[i][j]) > max) {
                    max = Math.abs(lu[i][j]);
                    p = i;
                }
            }
            pivots[j] = p;
            if (p != j) {
                float[] row = lu[p];
                lu[p] = lu[j];
                lu[j] = row;
            }
            float pivot = lu[j][j];
            if (pivot == 0) throw new ArithmeticException(SINGULAR);
            boolean divide = n <= 4 && j == n - 2;
            float reciprocal = 1.0f / pivot;
            for (int i = j + 1; i < n; i++) lu[i][j] = divide ? lu[i][j] / pivot : lu[i][j] * reciprocal;
            for (int i = j + 1; i < n; i++) {
                for (int k = j + 1; k < n; k++) lu[i][k] = lu[i][k] - lu[i][j] * lu[j][k];
            }
        }
        return pivots;
    }

    private static void swap(float[] x, int i, int j) {
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}
