// Row reductions: LayerNorm, GroupNorm (+SiLU), softmax. One block per row/group; statistics in fp32,
// two passes (mean, then centred variance) as PyTorch's reference does, for accuracy on long rows.

// x[rows, d]; gamma, beta [d].
extern "C" __global__ void layer_norm(const act* x, const act* gamma, const act* beta, act* y, i64 d, float eps) {
    __shared__ float scratch[32];
    const act* row = x + blockIdx.x * d;
    act* out = y + blockIdx.x * d;
    float s = 0.f;
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) s += ld(row, j);
    float mean = block_sum(s, scratch) / (float) d;
    float v = 0.f;
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) { float t = ld(row, j) - mean; v += t * t; }
    float rstd = rsqrtf(block_sum(v, scratch) / (float) d + eps);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) st(out, j, (ld(row, j) - mean) * rstd * ld(gamma, j) + ld(beta, j));
}

// x[n, channels, inner]; block = one (n, group) whose channels are contiguous: channels/groups * inner elements.
extern "C" __global__ void group_norm(const act* x, const act* gamma, const act* beta, act* y,
                                      int channels, int groups, i64 inner, float eps, int silu) {
    __shared__ float scratch[32];
    int g = blockIdx.x % groups;
    int cpg = channels / groups;
    i64 len = (i64) cpg * inner;
    i64 base = (i64) blockIdx.x * len;
    float s = 0.f;
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) s += ld(x, base + j);
    float mean = block_sum(s, scratch) / (float) len;
    float v = 0.f;
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) { float t = ld(x, base + j) - mean; v += t * t; }
    float rstd = rsqrtf(block_sum(v, scratch) / (float) len + eps);
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
        int c = g * cpg + (int) (j / inner);
        float o = (ld(x, base + j) - mean) * rstd * ld(gamma, c) + ld(beta, c);
        if (silu) o = o / (1.f + expf(-o));
        st(y, base + j, o);
    }
}

// Large groups (the UNet's: 10 channels x 16 frames x 88 x 160 = 2.25 M elements, only B x 32 groups) split over
// `chunks` blocks each, so the whole GPU works instead of 64 blocks. Pass 1: per chunk its count, mean and centred
// sum of squares (two passes over the chunk, the second from L2); pass 2: every block merges its group's partials
// (Chan et al.'s pairwise formula: exact, no atomics, deterministic) and normalises its chunk.
extern "C" __global__ void group_norm_partial(const act* x, float* partials, i64 len, int chunks) {
    __shared__ float scratch[32];
    const int group = blockIdx.x / chunks, chunk = blockIdx.x - group * chunks;
    const i64 per = (len + chunks - 1) / chunks, start = chunk * per, end = min(len, start + per);
    const act* p = x + (i64) group * len;
    float s = 0.f;
    for (i64 j = start + threadIdx.x; j < end; j += blockDim.x) s += ld(p, j);
    const float count = (float) (end - start);   // > 0: the host makes chunks of >= 8,192 elements
    const float mean = block_sum(s, scratch) / count;
    float v = 0.f;
    for (i64 j = start + threadIdx.x; j < end; j += blockDim.x) { float t = ld(p, j) - mean; v += t * t; }
    const float m2 = block_sum(v, scratch);
    if (threadIdx.x == 0) {
        partials[3 * blockIdx.x] = count;
        partials[3 * blockIdx.x + 1] = mean;
        partials[3 * blockIdx.x + 2] = m2;
    }
}

extern "C" __global__ void group_norm_apply(const act* x, const act* gamma, const act* beta, act* y, const float* partials,
                                            int channels, int groups, i64 inner, float eps, int silu, int chunks) {
    const int group = blockIdx.x / chunks, chunk = blockIdx.x - group * chunks;
    const int g = group % groups, cpg = channels / groups;
    const i64 len = (i64) cpg * inner, per = (len + chunks - 1) / chunks, start = chunk * per, end = min(len, start + per);
    const float* q = partials + 3 * (i64) group * chunks;
    float n = 0.f, mean = 0.f, m2 = 0.f;
    for (int i = 0; i < chunks; i++) {   // every thread merges the same few partials (L1 broadcast)
        float nb = q[3 * i], mb = q[3 * i + 1], m2b = q[3 * i + 2];
        if (nb == 0.f) continue;
        float nn = n + nb, d = mb - mean;
        mean += d * nb / nn;
        m2 += m2b + d * d * n * nb / nn;
        n = nn;
    }
    const float rstd = rsqrtf(m2 / n + eps);
    const act* p = x + (i64) group * len;
    act* o = y + (i64) group * len;
    for (i64 j = start + threadIdx.x; j < end; j += blockDim.x) {
        int c = g * cpg + (int) ((unsigned long long) j / (unsigned long long) inner);
        float r = (ld(p, j) - mean) * rstd * ld(gamma, c) + ld(beta, c);
        if (silu) r = r / (1.f + expf(-r));
        st(o, j, r);
    }
}

// ---- Vectorised LayerNorm and GroupNorm (TaskLowering falls back to the kernels above where shapes or alignment
// do not allow V-wide accesses). V activation values per load/store, V * sizeof(act) <= 16 bytes, address aligned. ----
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// LayerNorm with one warp per row and the row in registers (NV vectors of V per lane: d <= 32 * NV * V), so x is
// read once; mean, then centred variance, from the registers (the two-pass statistics of the kernel above).
template <int V, int NV>
__device__ __forceinline__ void layer_norm_warp_body(const act* __restrict__ x, const act* __restrict__ gamma, const act* __restrict__ beta,
                                                     act* __restrict__ y, i64 rows, int d, float eps) {
    const i64 row = (i64) blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;   // whole warps leave: the shuffles below always see 32 lanes
    const int lane = threadIdx.x & 31, dv = d / V;
    const act* p = x + row * d;
    float v[NV][V];
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        const int j = lane + 32 * k;
        if (j < dv) {
            vec_load<V>(p + j * V, v[k]);
#pragma unroll
            for (int i = 0; i < V; i++) s += v[k][i];
        }
    }
    const float mean = warp_sum(s) / (float) d;
    float q = 0.f;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        if (lane + 32 * k < dv) {
#pragma unroll
            for (int i = 0; i < V; i++) { const float t = v[k][i] - mean; q += t * t; }
        }
    }
    const float rstd = rsqrtf(warp_sum(q) / (float) d + eps);
    act* o = y + row * d;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        const int j = lane + 32 * k;
        if (j < dv) {
            float g[V], b[V];
            vec_load<V>(gamma + j * V, g);
            vec_load<V>(beta + j * V, b);
#pragma unroll
            for (int i = 0; i < V; i++) v[k][i] = (v[k][i] - mean) * rstd * g[i] + b[i];
            vec_store<V>(o + j * V, v[k]);
        }
    }
}

#define LAYER_NORM_WARP(V, NV) \
    extern "C" __global__ void layer_norm_v##V##_n##NV(const act* __restrict__ x, const act* __restrict__ gamma, const act* __restrict__ beta, \
                                                        act* __restrict__ y, i64 rows, int d, float eps) { \
        layer_norm_warp_body<V, NV>(x, gamma, beta, y, rows, d, eps); \
    }
// (V, NV) pairs with V * NV <= 64 values per lane; TaskLowering.LAYER_NORM_NV lists the same NV
#define LAYER_NORM_WARPS_UP_TO_4(V) LAYER_NORM_WARP(V, 1) LAYER_NORM_WARP(V, 2) LAYER_NORM_WARP(V, 3) LAYER_NORM_WARP(V, 4) \
    LAYER_NORM_WARP(V, 5) LAYER_NORM_WARP(V, 6) LAYER_NORM_WARP(V, 8)
LAYER_NORM_WARPS_UP_TO_4(2)
LAYER_NORM_WARP(2, 10) LAYER_NORM_WARP(2, 12) LAYER_NORM_WARP(2, 16)
LAYER_NORM_WARPS_UP_TO_4(4)
LAYER_NORM_WARP(4, 10) LAYER_NORM_WARP(4, 12) LAYER_NORM_WARP(4, 16)
#if ACT_DTYPE != 0
LAYER_NORM_WARPS_UP_TO_4(8)   // 8 halves = 16 bytes; fp32 stops at V = 4
#endif

// Chan et al.'s pairwise merge of (count, mean, centred sum of squares) summaries; an empty b changes nothing.
__device__ __forceinline__ void chan_merge(float& n, float& mean, float& m2, float nb, float mb, float m2b) {
    if (nb == 0.f) return;
    const float nn = n + nb, d = mb - mean, f = nb / nn;
    mean += d * f;
    m2 += m2b + d * d * n * f;
    n = nn;
}

__device__ __forceinline__ void warp_chan(float& n, float& mean, float& m2) {
    for (int o = 16; o > 0; o >>= 1) {
        const float nb = __shfl_xor_sync(0xffffffffu, n, o), mb = __shfl_xor_sync(0xffffffffu, mean, o),
                    m2b = __shfl_xor_sync(0xffffffffu, m2, o);
        chan_merge(n, mean, m2, nb, mb, m2b);
    }
}

// The mean and 1/sqrt(var + eps) of a group from its chunks' summaries q[3·chunks]: every warp merges them in the same
// order (lanes stride over them, then the butterfly) and takes lane 0's result, so the whole block normalises with
// identical statistics.
__device__ __forceinline__ void group_statistics(const float* __restrict__ q, int chunks, float eps, float& mean, float& rstd) {
    float n = 0.f, m = 0.f, m2 = 0.f;
    for (int i = threadIdx.x & 31; i < chunks; i += 32) chan_merge(n, m, m2, q[3 * i], q[3 * i + 1], q[3 * i + 2]);
    warp_chan(n, m, m2);
    n = __shfl_sync(0xffffffffu, n, 0);
    mean = __shfl_sync(0xffffffffu, m, 0);
    m2 = __shfl_sync(0xffffffffu, m2, 0);
    rstd = rsqrtf(m2 / n + eps);
}

// One block's summary (count, mean, centred M2) of nv vectors of V values at p, written to partials[3·blockIdx.x..]:
// each thread folds V values at a time into its running summary with Chan's merge, then warps and the block merge
// theirs the same way (fp32, deterministic, no atomics). Shared by the GroupNorm stats kernels of both layouts.
template <int V>
__device__ __forceinline__ void block_summary(const act* __restrict__ p, unsigned nv, float* __restrict__ partials) {
    __shared__ float sh[3][32];
    float n = 0.f, mean = 0.f, m2 = 0.f;
    for (unsigned j = threadIdx.x; j < nv; j += blockDim.x) {
        float f[V];
        vec_load<V>(p + (i64) j * V, f);
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < V; i++) s += f[i];
        const float mb = s * (1.f / V);
        float q = 0.f;
#pragma unroll
        for (int i = 0; i < V; i++) { const float t = f[i] - mb; q += t * t; }
        chan_merge(n, mean, m2, (float) V, mb, q);
    }
    warp_chan(n, mean, m2);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { sh[0][warp] = n; sh[1][warp] = mean; sh[2][warp] = m2; }
    __syncthreads();
    if (warp == 0) {
        const bool has = lane < (int) (blockDim.x >> 5);
        n = has ? sh[0][lane] : 0.f;
        mean = has ? sh[1][lane] : 0.f;
        m2 = has ? sh[2][lane] : 0.f;
        warp_chan(n, mean, m2);
        if (lane == 0) {
            partials[3 * (i64) blockIdx.x] = n;
            partials[3 * (i64) blockIdx.x + 1] = mean;
            partials[3 * (i64) blockIdx.x + 2] = m2;
        }
    }
}

// The apply pass over one chunk of a group: vectors [first, last) of V values at p (channels of inner_v vectors each,
// the first being channel c0) normalised with the group's mean and 1/std, written to o. Shared by both layouts' apply.
template <int V>
__device__ __forceinline__ void group_norm_apply_run(const act* __restrict__ p, act* __restrict__ o, unsigned first, unsigned last,
                                                     unsigned inner_v, int c0, float mean, float rstd, const act* __restrict__ gamma,
                                                     const act* __restrict__ beta, int silu) {
    for (unsigned j = first + threadIdx.x; j < last; j += blockDim.x) {
        const int c = c0 + (int) (j / inner_v);   // 32-bit division once per V values
        const float scale = rstd * ld(gamma, c), shift = ld(beta, c);
        float f[V];
        vec_load<V>(p + (i64) j * V, f);
#pragma unroll
        for (int i = 0; i < V; i++) {
            float r = (f[i] - mean) * scale + shift;
            if (silu) r = r / (1.f + expf(-r));
            f[i] = r;
        }
        vec_store<V>(o + (i64) j * V, f);
    }
}

// GroupNorm in two kernels for every group size (x[n, channels, inner], a group = channels/groups contiguous channels,
// len elements, split into `chunks` chunks of `per` elements, both multiples of V, inner too so that no vector
// straddles two channels). Pass 1 reads x once: each thread folds V values at a time (their exact mean and centred
// sum of squares) into its running summary with Chan's merge, then warps and the block merge theirs the same way:
// fp32 throughout, deterministic, no atomics. Pass 2 merges the group's chunk summaries and normalises its chunk.
template <int V>
__device__ __forceinline__ void group_norm_stats_body(const act* __restrict__ x, float* __restrict__ partials, i64 len, i64 per, int chunks) {
    const int group = blockIdx.x / chunks, chunk = blockIdx.x - group * chunks;
    const i64 start = (i64) chunk * per, end = min(len, start + per);
    const act* p = x + (i64) group * len + start;
    const unsigned nv = (unsigned) ((end - start) / V);   // the host keeps a group below 2^31 elements
    block_summary<V>(p, nv, partials);
}

template <int V>
__device__ __forceinline__ void group_norm_apply_body(const act* __restrict__ x, const act* __restrict__ gamma, const act* __restrict__ beta,
                                                      act* __restrict__ y, const float* __restrict__ partials, int channels, int groups,
                                                      i64 inner, float eps, int silu, int chunks, i64 per) {
    const int group = blockIdx.x / chunks, chunk = blockIdx.x - group * chunks;
    const int g = group % groups, cpg = channels / groups;
    const i64 len = (i64) cpg * inner, start = (i64) chunk * per, end = min(len, start + per);
    float mean, rstd;
    group_statistics(partials + 3 * (i64) group * chunks, chunks, eps, mean, rstd);
    const unsigned inner_v = (unsigned) (inner / V), last = (unsigned) (end / V);
    const act* p = x + (i64) group * len;
    act* o = y + (i64) group * len;
    group_norm_apply_run<V>(p, o, (unsigned) (start / V), last, inner_v, g * cpg, mean, rstd, gamma, beta, silu);
}

#define GROUP_NORM_VEC(V) \
    extern "C" __global__ void group_norm_stats_v##V(const act* __restrict__ x, float* __restrict__ partials, i64 len, i64 per, int chunks) { \
        group_norm_stats_body<V>(x, partials, len, per, chunks); \
    } \
    extern "C" __global__ void group_norm_apply_v##V(const act* __restrict__ x, const act* __restrict__ gamma, const act* __restrict__ beta, \
                                                    act* __restrict__ y, const float* __restrict__ partials, int channels, int groups, \
                                                    i64 inner, float eps, int silu, int chunks, i64 per) { \
        group_norm_apply_body<V>(x, gamma, beta, y, partials, channels, groups, inner, eps, silu, chunks, per); \
    }
GROUP_NORM_VEC(1)
GROUP_NORM_VEC(2)
GROUP_NORM_VEC(4)
#if ACT_DTYPE != 0
GROUP_NORM_VEC(8)
#endif

// stats[group] = (mean, 1/sqrt(var + eps)) of each of the `all` groups from group_norm_stats' chunk summaries, one
// warp per group with group_statistics (the same merge group_norm_apply does): for kernels that apply the norm
// elsewhere (layout.cu's group_norm_transposed).
extern "C" __global__ void group_norm_statistics(const float* __restrict__ partials, float2* __restrict__ stats, int all,
                                                 int chunks, float eps) {
    const int group = (int) ((blockIdx.x * blockDim.x + threadIdx.x) >> 5);
    if (group >= all) return;   // uniform per warp: blockDim is a multiple of 32
    float mean, rstd;
    group_statistics(partials + 3 * (i64) group * chunks, chunks, eps, mean, rstd);
    if ((threadIdx.x & 31) == 0) stats[group] = make_float2(mean, rstd);
}

// Softmax over rows of length d.
extern "C" __global__ void softmax(const act* x, act* y, i64 d) {
    __shared__ float scratch[32];
    const act* row = x + blockIdx.x * d;
    act* out = y + blockIdx.x * d;
    float m = __int_as_float(0xff800000);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) m = fmaxf(m, ld(row, j));
    m = block_max(m, scratch);
    float s = 0.f;
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) s += expf(ld(row, j) - m);
    float inv = 1.f / block_sum(s, scratch);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) st(out, j, expf(ld(row, j) - m) * inv);
}

// Softmax over rows of d values held in registers: one read and one write of each value (softmax above reads the
// row three times, value by value). SOFTMAX_BLOCK threads per row, NV vectors of V values per thread; x may be y (the
// chunked attention's scores in place: each thread writes only what it read), hence no __restrict__.
#define SOFTMAX_BLOCK 256
template <int V, int NV>
__device__ __forceinline__ void softmax_vec_body(const act* x, act* y, int d) {
    __shared__ float scratch[32];
    const int dv = d / V;
    const act* p = x + (i64) blockIdx.x * d;
    float v[NV][V];
    float m = __int_as_float(0xff800000);
#pragma unroll
    for (int k = 0; k < NV; k++) {
        const int j = threadIdx.x + SOFTMAX_BLOCK * k;
        if (j < dv) {
            vec_load<V>(p + (i64) j * V, v[k]);
#pragma unroll
            for (int i = 0; i < V; i++) m = fmaxf(m, v[k][i]);
        }
    }
    m = block_max(m, scratch);
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        if (threadIdx.x + SOFTMAX_BLOCK * k < dv) {
#pragma unroll
            for (int i = 0; i < V; i++) { v[k][i] = expf(v[k][i] - m); s += v[k][i]; }
        }
    }
    const float inv = 1.f / block_sum(s, scratch);
    act* o = y + (i64) blockIdx.x * d;
#pragma unroll
    for (int k = 0; k < NV; k++) {
        const int j = threadIdx.x + SOFTMAX_BLOCK * k;
        if (j < dv) {
#pragma unroll
            for (int i = 0; i < V; i++) v[k][i] *= inv;
            vec_store<V>(o + (i64) j * V, v[k]);
        }
    }
}

#define SOFTMAX_VEC(V, NV) \
    extern "C" __global__ void __launch_bounds__(SOFTMAX_BLOCK) softmax_v##V##_n##NV(const act* x, act* y, int d) { \
        softmax_vec_body<V, NV>(x, y, d); \
    }
// (V, NV) with V * NV <= 64 values per thread; NormalizationLowering.SOFTMAX_NV lists the same NV
SOFTMAX_VEC(2, 1) SOFTMAX_VEC(2, 2) SOFTMAX_VEC(2, 4) SOFTMAX_VEC(2, 8) SOFTMAX_VEC(2, 16)
SOFTMAX_VEC(4, 1) SOFTMAX_VEC(4, 2) SOFTMAX_VEC(4, 4) SOFTMAX_VEC(4, 8) SOFTMAX_VEC(4, 16)
#if ACT_DTYPE != 0
SOFTMAX_VEC(8, 1) SOFTMAX_VEC(8, 2) SOFTMAX_VEC(8, 4) SOFTMAX_VEC(8, 8)   // 8 halves = 16 bytes; fp32 stops at V = 4
#endif

// ---- GroupNorm on channels-last x[image, pixel, channel] (the decoder's NHWC activations: ChannelsLastPlan). ----
// Three launches: per-chunk statistics of every group, their merge into per-(image, channel) scale and shift, and
// the element-wise apply. A thread owns one column of CL_V channels (one 16-byte vector) and walks pixels, so every
// access is a full vector and a group may be narrower than a vector (the VAE's 128 channels in 32 groups of 4).
#define CL_V (16 / (int) sizeof(act))
#define CL_BLOCK 256

// partials[((image * chunks + chunk) * groups + g) * 3 + {count, mean, M2}] over pixels [chunk * per, +per) of image.
// Each thread sums its values as offsets from its first one (keeps fp32 sums accurate), turns them into a (count,
// mean, M2) summary per channel; the block merges those over its rows in shared memory, then over each group's
// channels, always in the same order: deterministic, no atomics. Host: channels % CL_V == 0, CL_BLOCK divisible by
// channels / CL_V (so rows * cols == CL_BLOCK), pixels * channels < 2^31 per image.
extern "C" __global__ void __launch_bounds__(CL_BLOCK) group_norm_nhwc_stats(const act* __restrict__ x, float* __restrict__ partials,
                                                                              int pixels, int channels, int groups, int per, int chunks) {
    __shared__ float s_mean[CL_BLOCK * CL_V], s_m2[CL_BLOCK * CL_V], s_n[CL_BLOCK];
    const int image = blockIdx.x / chunks, chunk = blockIdx.x - image * chunks;
    const int cols = channels / CL_V, rows = CL_BLOCK / cols;
    const int col = threadIdx.x % cols, row = threadIdx.x / cols;
    const int start = chunk * per, end = min(pixels, start + per);
    const act* p = x + (i64) image * pixels * channels + col * CL_V;
    float ref[CL_V], s[CL_V], q[CL_V];
#pragma unroll
    for (int i = 0; i < CL_V; i++) { ref[i] = 0.f; s[i] = 0.f; q[i] = 0.f; }
    int n = 0;
    for (int px = start + row; px < end; px += rows) {
        float f[CL_V];
        vec_load<CL_V>(p + (i64) px * channels, f);
        if (n == 0) {
#pragma unroll
            for (int i = 0; i < CL_V; i++) ref[i] = f[i];
        }
#pragma unroll
        for (int i = 0; i < CL_V; i++) { const float d = f[i] - ref[i]; s[i] += d; q[i] += d * d; }
        n++;
    }
    const float fn = (float) n;
#pragma unroll
    for (int i = 0; i < CL_V; i++) {
        const float shift = n > 0 ? s[i] / fn : 0.f;
        s_mean[row * channels + col * CL_V + i] = ref[i] + shift;
        s_m2[row * channels + col * CL_V + i] = n > 0 ? fmaxf(q[i] - s[i] * shift, 0.f) : 0.f;
    }
    if (col == 0) s_n[row] = fn;
    __syncthreads();
    // per channel over the rows; thread c alone reads and writes channel c, so row 0 can hold the result
    for (int c = threadIdx.x; c < channels; c += CL_BLOCK) {
        float cn = 0.f, cm = 0.f, cm2 = 0.f;
        for (int r = 0; r < rows; r++) chan_merge(cn, cm, cm2, s_n[r], s_mean[r * channels + c], s_m2[r * channels + c]);
        s_mean[c] = cm;
        s_m2[c] = cm2;
    }
    __syncthreads();
    const int cpg = channels / groups;
    for (int g = threadIdx.x; g < groups; g += CL_BLOCK) {
        float total = 0.f;
        for (int r = 0; r < rows; r++) total += s_n[r];
        float gn = 0.f, gm = 0.f, gm2 = 0.f;
        for (int c = g * cpg; c < (g + 1) * cpg; c++) chan_merge(gn, gm, gm2, total, s_mean[c], s_m2[c]);
        float* o = partials + 3 * (((i64) image * chunks + chunk) * groups + g);
        o[0] = gn;
        o[1] = gm;
        o[2] = gm2;
    }
}

// scale_shift[image * channels + c] = rstd * gamma[c], scale_shift[(images + image) * channels + c] = beta[c] - mean *
// that scale. One warp per (image, group): lanes stride over the chunk summaries, the butterfly merges them, and
// lane 0's result is used by all (the butterfly's lanes may differ in the last bit).
extern "C" __global__ void group_norm_nhwc_finalize(const float* __restrict__ partials, const act* __restrict__ gamma,
                                                    const act* __restrict__ beta, float* __restrict__ scale_shift, int images,
                                                    int channels, int groups, int chunks, float eps) {
    const int warp = (int) ((blockIdx.x * blockDim.x + threadIdx.x) >> 5), lane = threadIdx.x & 31;
    if (warp >= images * groups) return;   // uniform per warp: blockDim is a multiple of 32
    const int image = warp / groups, g = warp - image * groups;
    float n = 0.f, mean = 0.f, m2 = 0.f;
    for (int i = lane; i < chunks; i += 32) {
        const float* q = partials + 3 * (((i64) image * chunks + i) * groups + g);
        chan_merge(n, mean, m2, q[0], q[1], q[2]);
    }
    warp_chan(n, mean, m2);
    n = __shfl_sync(0xffffffffu, n, 0);
    mean = __shfl_sync(0xffffffffu, mean, 0);
    m2 = __shfl_sync(0xffffffffu, m2, 0);
    const float rstd = rsqrtf(m2 / n + eps);
    const int cpg = channels / groups;
    for (int j = lane; j < cpg; j += 32) {
        const int c = g * cpg + j;
        const float sc = rstd * ld(gamma, c);
        scale_shift[(i64) image * channels + c] = sc;
        scale_shift[((i64) images + image) * channels + c] = ld(beta, c) - mean * sc;
    }
}

// y = x * scale + shift per (image, channel), SiLU optionally; CL_V channels per 16-byte vector, their scales and
// shifts in 16-byte float loads (scale_shift 16-byte aligned). Host: channels % CL_V == 0, fewer than 2^31 vectors.
struct __align__(16) cl_f4 { float x, y, z, w; };
extern "C" __global__ void group_norm_nhwc_apply(const act* __restrict__ x, const float* __restrict__ scale_shift, act* __restrict__ y,
                                                 int images, int pixels, int channels, int silu) {
    const unsigned cols = (unsigned) (channels / CL_V), per_image = (unsigned) pixels * cols, total = per_image * (unsigned) images;
    for (unsigned j = blockIdx.x * blockDim.x + threadIdx.x; j < total; j += blockDim.x * gridDim.x) {
        const unsigned image = j / per_image, c0 = (j % cols) * CL_V;
        const cl_f4* sc = reinterpret_cast<const cl_f4*>(scale_shift + (i64) image * channels + c0);
        const cl_f4* sh = reinterpret_cast<const cl_f4*>(scale_shift + ((i64) images + image) * channels + c0);
        float a[CL_V], b[CL_V], f[CL_V];
#pragma unroll
        for (int k = 0; k < CL_V / 4; k++) {
            const cl_f4 u = sc[k], v = sh[k];
            a[4 * k] = u.x; a[4 * k + 1] = u.y; a[4 * k + 2] = u.z; a[4 * k + 3] = u.w;
            b[4 * k] = v.x; b[4 * k + 1] = v.y; b[4 * k + 2] = v.z; b[4 * k + 3] = v.w;
        }
        vec_load<CL_V>(x + (i64) j * CL_V, f);
#pragma unroll
        for (int i = 0; i < CL_V; i++) {
            float r = f[i] * a[i] + b[i];
            if (silu) r = r / (1.f + expf(-r));
            f[i] = r;
        }
        vec_store<CL_V>(y + (i64) j * CL_V, f);
    }
}

// GroupNorm with the channels on a later axis (TemporalConvLayer's frame-major video x[B, F, C, inner]): the group
// (image, g) is F segments of seg = C/G · inner contiguous elements at a stride of C · inner. Every segment is cut
// into cpf chunks of `per` elements (the last may be shorter; seg, per and inner are multiples of V), block
// group · (F · cpf) + f · cpf + s takes chunk s of segment f, so a group's F · cpf summaries are consecutive as in
// group_norm_stats/apply_v{V} above, whose Chan merges and numerics these follow.
template <int V>
__device__ __forceinline__ void group_norm_frames_stats_body(const act* __restrict__ x, float* __restrict__ partials, int groups,
                                                             i64 seg, int frames, i64 frame_stride, i64 per, int cpf) {
    const int chunks = frames * cpf;
    const int group = blockIdx.x / chunks, rest = blockIdx.x - group * chunks, f = rest / cpf, s = rest - f * cpf;
    const int image = group / groups, g = group - image * groups;
    const i64 start = (i64) s * per, end = min(seg, start + per);
    const act* p = x + ((i64) image * frames + f) * frame_stride + (i64) g * seg + start;
    const unsigned nv = (unsigned) ((end - start) / V);
    block_summary<V>(p, nv, partials);
}

template <int V>
__device__ __forceinline__ void group_norm_frames_apply_body(const act* __restrict__ x, const act* __restrict__ gamma,
                                                             const act* __restrict__ beta, act* __restrict__ y,
                                                             const float* __restrict__ partials, int groups, i64 inner, i64 seg,
                                                             int frames, i64 frame_stride, float eps, int silu, i64 per, int cpf) {
    const int chunks = frames * cpf;
    const int group = blockIdx.x / chunks, rest = blockIdx.x - group * chunks, f = rest / cpf, s = rest - f * cpf;
    const int image = group / groups, g = group - image * groups;
    const int cpg = (int) (seg / inner);
    const i64 start = (i64) s * per, end = min(seg, start + per);
    float mean, rstd;
    group_statistics(partials + 3 * (i64) group * chunks, chunks, eps, mean, rstd);
    const unsigned inner_v = (unsigned) (inner / V), last = (unsigned) (end / V);
    const i64 base = ((i64) image * frames + f) * frame_stride + (i64) g * seg;   // segment start, element index
    const act* p = x + base;
    act* o = y + base;
    group_norm_apply_run<V>(p, o, (unsigned) (start / V), last, inner_v, g * cpg, mean, rstd, gamma, beta, silu);
}

#define GROUP_NORM_FRAMES_VEC(V) \
    extern "C" __global__ void group_norm_frames_stats_v##V(const act* __restrict__ x, float* __restrict__ partials, int groups, i64 seg, \
                                                           int frames, i64 frame_stride, i64 per, int cpf) { \
        group_norm_frames_stats_body<V>(x, partials, groups, seg, frames, frame_stride, per, cpf); \
    } \
    extern "C" __global__ void group_norm_frames_apply_v##V(const act* __restrict__ x, const act* __restrict__ gamma, \
                                                           const act* __restrict__ beta, act* __restrict__ y, \
                                                           const float* __restrict__ partials, int groups, i64 inner, i64 seg, \
                                                           int frames, i64 frame_stride, float eps, int silu, i64 per, int cpf) { \
        group_norm_frames_apply_body<V>(x, gamma, beta, y, partials, groups, inner, seg, frames, frame_stride, eps, silu, per, cpf); \
    }
GROUP_NORM_FRAMES_VEC(1)
GROUP_NORM_FRAMES_VEC(2)
GROUP_NORM_FRAMES_VEC(4)
#if ACT_DTYPE != 0
GROUP_NORM_FRAMES_VEC(8)
#endif
