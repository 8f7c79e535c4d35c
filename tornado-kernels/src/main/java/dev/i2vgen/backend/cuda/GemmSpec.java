package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

/**
 * One row-major, strided-batched GEMM for {@link CublasLt#plan(GemmSpec)}:
 * D[b] = alpha · A[b] · op(B[b]) + beta · C[b] (+ bias[N] per column), with A[M, K], B[K, N] (or B[N, K] when
 * {@code transposeB}), C and D [M, N]. Each matrix has its own leading dimension (row stride, in elements, at
 * least its packed width, so column sub-ranges of wider rows can be addressed) and batch stride (0 shares it).
 * C may be D itself (then with the same ld and stride: cuBLASLt's in-place case) or a distinct matrix; with
 * beta = 0 it is not read and may be left 0. Pointers are fixed device addresses; bias 0 means none.
 */
record GemmSpec(DType type, int m, int n, int k, boolean transposeB, int batch, float alpha, float beta,
                Matrix a, Matrix b, Matrix c, Matrix d, long bias) {

    /** A device matrix: base pointer, leading dimension and batch stride, both in elements. */
    record Matrix(long ptr, long ld, long batchStride) {}

    GemmSpec {
        if (m <= 0 || n <= 0 || k <= 0 || batch <= 0) throw new IllegalArgumentException("GEMM sizes must be positive: M=" + m + " N=" + n + " K=" + k + " batch " + batch);
        if (c == null || c.ptr() == 0) {
            if (beta != 0f) throw new IllegalArgumentException("beta " + beta + " needs a C matrix");
            c = d;
        }
        check("A", a, k);
        check("B", b, transposeB ? k : n);
        check("C", c, n);
        check("D", d, n);
        if (c.ptr() == d.ptr() && (c.ld() != d.ld() || c.batchStride() != d.batchStride()))
            throw new IllegalArgumentException("C at D's address must have D's layout (in-place GEMM): " + c + " vs " + d);
    }

    private static void check(String name, Matrix x, long width) {
        if (x == null || x.ptr() == 0) throw new IllegalArgumentException("GEMM operand " + name + " has no pointer");
        if (x.ld() < width) throw new IllegalArgumentException("GEMM operand " + name + ": ld " + x.ld() + " < row width " + width);
        if (x.batchStride() < 0) throw new IllegalArgumentException("GEMM operand " + name + ": negative batch stride");
    }

    /** The packed case of the original API: every matrix dense, C = D, beta = 0. */
    static GemmSpec packed(DType type, int m, int n, int k, boolean transposeB, long strideA, long strideB, long strideC,
                           int batch, float alpha, long a, long b, long c, long bias) {
        Matrix d = new Matrix(c, n, strideC);
        return new GemmSpec(type, m, n, k, transposeB, batch, alpha, 0f,
                new Matrix(a, k, strideA), new Matrix(b, transposeB ? k : n, strideB), d, d, bias);
    }

    /** Whether C is a matrix of its own rather than D's storage. */
    boolean separateC() { return c.ptr() != d.ptr(); }

    /**
     * What decides cuBLASLt's algorithm choice, without the pointers: sizes, dtype, transpose, batch, leading
     * dimensions and batch strides, beta, C in place or not, bias or not (CublasLt adds the operands' alignments).
     */
    String searchKey() {
        return type + " " + m + "x" + n + "x" + k + (transposeB ? "T" : "N") + " b" + batch
                + " ld " + a.ld() + "," + b.ld() + "," + c.ld() + "," + d.ld()
                + " bs " + a.batchStride() + "," + b.batchStride() + "," + c.batchStride() + "," + d.batchStride()
                + (beta != 0f ? " beta " + (separateC() ? "C" : "D") : "") + (bias != 0 ? " bias" : "");
    }

    String describe() {
        return "GEMM " + type + " M=" + m + " N=" + n + " K=" + k + (transposeB ? " Bᵀ" : "") + " batch " + batch
                + (beta != 0f ? " beta " + beta + (separateC() ? " C≠D" : " C=D") : "")
                + (a.ld() != k || d.ld() != n ? " lda " + a.ld() + " ldb " + b.ld() + " ldc " + c.ld() + " ldd " + d.ld() : "");
    }
}
