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

// Frames-first temporal conv (TemporalConv with framesFirst), one work-item per output element, straight from x (no
// im2col): y[b, f, o, p] = bias[o] (+ r[b, f, o, p]) + Σ_t Σ_c w[o, c, t] · x[b, f + t − pad, c, p], frames outside
// [0, frames) being zero padding. Work-items of a row p read x and y contiguously; the weight reads are uniform.
__kernel void temporal_conv_frames(BUF(x), BUF(w), BUF(bias), BUF(r), BUF(y), const int hasBias, const int hasResidual,
                                   const int frames, const int c, const int o, const int k, const long hw, const long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(w); OFF(bias); OFF(r); OFF(y);
    long p = i % hw, rest = i / hw;
    int oc = (int) (rest % o);
    rest /= o;
    int f = (int) (rest % frames);
    long b = rest / frames;
    int pad = (k - 1) / 2;
    float acc = hasBias ? bias[oc] : 0.0f;
    if (hasResidual) acc += r[i];
    for (int t = 0; t < k; t++) {
        int src = f + t - pad;
        if (src < 0 || src >= frames) continue;
        __global const float* xs = x + (b * frames + src) * c * hw + p;
        __global const float* ws = w + (long) oc * c * k + t;
        for (int ci = 0; ci < c; ci++) acc += ws[(long) ci * k] * xs[(long) ci * hw];
    }
    y[i] = acc;
}
