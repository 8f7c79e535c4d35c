// Batched C[b] = alpha * A[b] · op(B[b]) (+ bias), tiled through local memory (TS x TS work-groups).
// A[M, K] row-major; B[K, N], or B[N, K] when transB; batch strides in elements (0: shared operand).
// biasMode: 0 none, 1 bias[N] per column (Linear), 2 bias[M] per row (convolution output channels).
#define TS 16

__kernel __attribute__((reqd_work_group_size(TS, TS, 1)))
void gemm(BUF(a), BUF(b), BUF(c), BUF(bias), const int M, const int N, const int K, const int transB,
          const long sa, const long sb, const long sc, const float alpha, const int biasMode) {
    __local float As[TS][TS + 1];
    __local float Bs[TS][TS + 1];
    int col = get_global_id(0), row = get_global_id(1);
    long batch = get_global_id(2);
    int lx = get_local_id(0), ly = get_local_id(1);
    OFF(a); OFF(b); OFF(c); OFF(bias);
    a += batch * sa; b += batch * sb; c += batch * sc;
    // the tile of B this work-item loads: transposed loads keep the rows of B[N, K] contiguous in k
    int bRow = get_group_id(0) * TS + ly;   // for transB: the column n loaded by (ly, lx) is bRow, k = lx
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TS) {
        int ak = k0 + lx;
        As[ly][lx] = (row < M && ak < K) ? a[(long) row * K + ak] : 0.0f;
        if (transB) {
            int bk = k0 + lx;
            Bs[lx][ly] = (bRow < N && bk < K) ? b[(long) bRow * K + bk] : 0.0f;
        } else {
            int bk = k0 + ly;
            Bs[ly][lx] = (col < N && bk < K) ? b[(long) bk * N + col] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TS; kk++) acc += As[ly][kk] * Bs[kk][lx];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < M && col < N) {
        float v = alpha * acc;
        if (biasMode == 1) v += bias[col];
        else if (biasMode == 2) v += bias[row];
        c[(long) row * N + col] = v;
    }
}
