// Data movement: strided block copies (concat, slice), permute, nearest upsampling, im2col for
// convolutions, embedding lookup and the sinusoidal timestep embedding.

// dst[r, dst_off + j] = src[r, src_off + j] for r < rows, j < len: one concat part or one slice.
extern "C" __global__ void copy_rows(const act* src, i64 src_row, i64 src_off, act* dst, i64 dst_row, i64 dst_off,
                                     i64 rows, i64 len) {
    GRID_STRIDE(i, rows * len) {
        i64 r = i / len, j = i - r * len;
        dst[r * dst_row + dst_off + j] = src[r * src_row + src_off + j];
    }
}

#define MAX_RANK 8
struct Permutation {
    i64 out_dims[MAX_RANK];
    i64 in_strides[MAX_RANK];   // stride in the input of each output axis
    int rank;
};

extern "C" __global__ void permute(const act* x, act* y, i64 n, Permutation p) {
    GRID_STRIDE(i, n) {
        i64 rest = i, src = 0;
        for (int d = p.rank - 1; d >= 0; d--) {
            i64 c = rest % p.out_dims[d];
            rest /= p.out_dims[d];
            src += c * p.in_strides[d];
        }
        y[i] = x[src];
    }
}

// ---- Fast permutes: TaskLowering picks them from CollapsedPermute's plan; `permute` above is the fallback. ----
// They move bits, no arithmetic; 16-byte accesses where the extents allow (the host checks extents and alignment).
#if ACT_DTYPE == 0
typedef unsigned int raw_t;
#else
typedef unsigned short raw_t;
#endif
struct __align__(8) pm_w2 { unsigned int x, y; };
struct __align__(16) pm_w4 { unsigned int x, y, z, w; };

// V consecutive values in one load/store of V * sizeof(raw_t) <= 16 bytes (the address aligned to that size).
template <int V> __device__ __forceinline__ void raw_load(const raw_t* p, raw_t* e) {
    constexpr int BYTES = V * (int) sizeof(raw_t);
    static_assert(BYTES == 2 || BYTES == 4 || BYTES == 8 || BYTES == 16, "1 to 16 bytes per access");
    if constexpr (BYTES == 2) {
        e[0] = p[0];
    } else {
        unsigned int w[BYTES / 4];
        if constexpr (BYTES == 4) {
            w[0] = *reinterpret_cast<const unsigned int*>(p);
        } else if constexpr (BYTES == 8) {
            const pm_w2 v = *reinterpret_cast<const pm_w2*>(p);
            w[0] = v.x; w[1] = v.y;
        } else {
            const pm_w4 v = *reinterpret_cast<const pm_w4*>(p);
            w[0] = v.x; w[1] = v.y; w[2] = v.z; w[3] = v.w;
        }
#pragma unroll
        for (int i = 0; i < BYTES / 4; i++) {
#if ACT_DTYPE == 0
            e[i] = w[i];
#else
            e[2 * i] = (raw_t) (w[i] & 0xffffu);   // little-endian: the lower address is the low half
            e[2 * i + 1] = (raw_t) (w[i] >> 16);
#endif
        }
    }
}

template <int V> __device__ __forceinline__ void raw_store(raw_t* p, const raw_t* e) {
    constexpr int BYTES = V * (int) sizeof(raw_t);
    static_assert(BYTES == 2 || BYTES == 4 || BYTES == 8 || BYTES == 16, "1 to 16 bytes per access");
    if constexpr (BYTES == 2) {
        p[0] = e[0];
    } else {
        unsigned int w[BYTES / 4];
#pragma unroll
        for (int i = 0; i < BYTES / 4; i++) {
#if ACT_DTYPE == 0
            w[i] = e[i];
#else
            w[i] = (unsigned int) e[2 * i] | ((unsigned int) e[2 * i + 1] << 16);
#endif
        }
        // explicit vector stores: nvcc splits a struct store assembled from shared-memory values into 4-byte ones
        if constexpr (BYTES == 4) *reinterpret_cast<unsigned int*>(p) = w[0];
        else if constexpr (BYTES == 8) asm volatile("st.global.v2.u32 [%0], {%1, %2};" :: "l"(p), "r"(w[0]), "r"(w[1]) : "memory");
        else asm volatile("st.global.v4.u32 [%0], {%1, %2, %3, %4};" :: "l"(p), "r"(w[0]), "r"(w[1]), "r"(w[2]), "r"(w[3]) : "memory");
    }
}

// Rows: the output is `rows` runs of `words` W-sized words that are contiguous in the input too ([B, F, C, H·W] →
// [B, C, F, H·W]). A work item is (row, segment of PR_SEG words), one warp each, so a long row still spreads over
// the GPU and a row's source is decoded once per 8 KB instead of once per element. p holds the output dims before
// the run and their input strides (elements).
#define PR_SEG 512
template <typename W>
__device__ __forceinline__ void permute_rows_body(const act* __restrict__ x, act* __restrict__ y, i64 rows, i64 words, const Permutation& p) {
    const i64 segs = (words + PR_SEG - 1) / PR_SEG;
    const int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    for (i64 item = (i64) blockIdx.x * warps + (threadIdx.x >> 5); item < rows * segs; item += (i64) gridDim.x * warps) {
        const i64 row = item / segs, seg = item - row * segs;
        i64 rest = row, src = 0;
        for (int d = p.rank - 1; d >= 0; d--) {
            const i64 c = rest % p.out_dims[d];
            rest /= p.out_dims[d];
            src += c * p.in_strides[d];
        }
        const W* s = reinterpret_cast<const W*>(x + src) + seg * PR_SEG;
        W* o = reinterpret_cast<W*>(y) + row * words + seg * PR_SEG;
        const int n = (int) min((i64) PR_SEG, words - seg * PR_SEG);
        int j = lane;
        for (; j + 96 < n; j += 128) {   // four independent loads in flight per lane
            const W w0 = s[j], w1 = s[j + 32], w2 = s[j + 64], w3 = s[j + 96];
            o[j] = w0; o[j + 32] = w1; o[j + 64] = w2; o[j + 96] = w3;
        }
        for (; j < n; j += 32) o[j] = s[j];
    }
}

extern "C" __global__ void permute_rows_16(const act* __restrict__ x, act* __restrict__ y, i64 rows, i64 words, Permutation p) {
    permute_rows_body<pm_w4>(x, y, rows, words, p);
}
extern "C" __global__ void permute_rows_8(const act* __restrict__ x, act* __restrict__ y, i64 rows, i64 words, Permutation p) {
    permute_rows_body<pm_w2>(x, y, rows, words, p);
}
extern "C" __global__ void permute_rows_4(const act* __restrict__ x, act* __restrict__ y, i64 rows, i64 words, Permutation p) {
    permute_rows_body<unsigned int>(x, y, rows, words, p);
}
extern "C" __global__ void permute_rows_2(const act* __restrict__ x, act* __restrict__ y, i64 rows, i64 words, Permutation p) {
    permute_rows_body<unsigned short>(x, y, rows, words, p);
}

// Batched 2-D transpose: axis A contiguous in the input (extent na), axis B contiguous in the output (extent nb);
// element (batch, a, b) moves from x[in_off + a + b * in_stride_b] to y[out_off + a * out_stride_a + b]. One PT x PT
// tile per block iteration through shared memory, V values per global access on both sides (na and nb multiples
// of V, 16-byte aligned bases: the host checks), so every warp reads and writes whole 128-byte lines.
struct TransposeBatch {
    i64 dims[MAX_RANK];
    i64 in_strides[MAX_RANK];
    i64 out_strides[MAX_RANK];
    int rank;
};
#define PT 64
// Row pitch 66 halves (33 words) or 65 words: the row-wise scalar writes of a warp (4 rows x 8 vectors at V = 8)
// hit 32 distinct banks; the column-wise reads at most 2 words per bank.
#define PT_PITCH (PT + (sizeof(raw_t) == 2 ? 2 : 1))

// What a tiled transpose does to the values it moves: nothing (a permute), or a hook on each loaded vector (`row`:
// its input row counted over the whole tensor, b: the row within the batch item, a..a+V-1 its columns) and on each
// stored one (`batch`: the batch item, a: its output row within it, `at`: the output element).
struct MoveBits {
    template <int V> __device__ __forceinline__ void loaded(raw_t*, i64, i64, i64) const {}
    template <int V> __device__ __forceinline__ void storing(raw_t*, i64, i64, i64) const {}
};

template <int V, typename Hook = MoveBits>
__device__ __forceinline__ void permute_tiled_body(const act* __restrict__ xa, act* __restrict__ ya, i64 na, i64 nb,
                                                   i64 in_stride_b, i64 out_stride_a, const TransposeBatch& g,
                                                   const Hook& hook = Hook()) {
    __shared__ raw_t tile[PT][PT_PITCH];   // tile[b][a]
    const raw_t* x = reinterpret_cast<const raw_t*>(xa);
    raw_t* y = reinterpret_cast<raw_t*>(ya);
    constexpr int VPR = PT / V;           // vectors per tile row
    const i64 tiles_a = (na + PT - 1) / PT, tiles_b = (nb + PT - 1) / PT;
    i64 batches = 1;
    for (int d = 0; d < g.rank; d++) batches *= g.dims[d];
    const i64 tiles = batches * tiles_a * tiles_b;
    for (i64 t = blockIdx.x; t < tiles; t += gridDim.x) {   // uniform per block: the barriers below are safe
        const i64 tb = t % tiles_b, r0 = t / tiles_b;
        const i64 ta = r0 % tiles_a;
        i64 rest = r0 / tiles_a, in_off = 0, out_off = 0;
        for (int d = g.rank - 1; d >= 0; d--) {
            const i64 c = rest % g.dims[d];
            rest /= g.dims[d];
            in_off += c * g.in_strides[d];
            out_off += c * g.out_strides[d];
        }
        const i64 a0 = ta * PT, b0 = tb * PT;
        const i64 in_row = in_off / in_stride_b;   // input rows (of in_stride_b values) before this batch item's
        // valid extents of this tile: multiples of V, so a vector is either wholly inside or wholly outside
        const int an = (int) min((i64) PT, na - a0), bn = (int) min((i64) PT, nb - b0);
        for (int k = threadIdx.x; k < PT * VPR; k += blockDim.x) {
            const int b = k / VPR, a = (k - b * VPR) * V;
            if (b < bn && a < an) {
                raw_t e[V];
                raw_load<V>(x + in_off + (b0 + b) * in_stride_b + a0 + a, e);
                hook.template loaded<V>(e, in_row + b0 + b, b0 + b, a0 + a);
#pragma unroll
                for (int i = 0; i < V; i++) tile[b][a + i] = e[i];
            }
        }
        __syncthreads();
        for (int k = threadIdx.x; k < PT * VPR; k += blockDim.x) {
            const int a = k / VPR, b = (k - a * VPR) * V;
            if (a < an && b < bn) {
                raw_t e[V];
#pragma unroll
                for (int i = 0; i < V; i++) e[i] = tile[b + i][a];
                const i64 at = out_off + (a0 + a) * out_stride_a + b0 + b;
                hook.template storing<V>(e, r0 / tiles_a, a0 + a, at);
                raw_store<V>(y + at, e);
            }
        }
        __syncthreads();   // the next tile overwrites the shared buffer
    }
}

#define PERMUTE_TILED(V) \
    extern "C" __global__ void permute_tiled_##V(const act* __restrict__ x, act* __restrict__ y, i64 na, i64 nb, \
                                                 i64 in_stride_b, i64 out_stride_a, TransposeBatch g) { \
        permute_tiled_body<V>(x, y, na, nb, in_stride_b, out_stride_a, g); \
    }
PERMUTE_TILED(1)
PERMUTE_TILED(2)
PERMUTE_TILED(4)
#if ACT_DTYPE != 0
PERMUTE_TILED(8)   // 8 halves = 16 bytes; fp32 stops at 4
#endif

// ---- Transposes with arithmetic: the UNet's channels-last conv islands (ConvolutionLowering#convIsland) without
// their separate permutes. Same tiles and accesses as permute_tiled; values pass through fp32 once. ----
#if ACT_DTYPE == 0
__device__ __forceinline__ float raw_f(raw_t r) { return __uint_as_float(r); }
__device__ __forceinline__ raw_t f_raw(float f) { return __float_as_uint(f); }
#else
__device__ __forceinline__ float raw_f(raw_t r) { return vec_half(r); }
__device__ __forceinline__ raw_t f_raw(float f) { return (raw_t) vec_round(f); }
#endif

// GroupNorm(+SiLU) applied while x moves: x is contiguous [images, frames, C, P] (frames = 1: NCHW) with P the
// transpose's input-contiguous axis, so input row r holds channel r % C of image r / (C · frames), whose group's mean
// and 1/std come from stats[image · groups + c / cpg] (group_norm_statistics). [N, C, P] → [N, P, C] for the conv
// islands and spatial transformers, [B, F, C, P] → [B, P, F, C] for the temporal transformers (there the transpose's
// row axis is F·C). group_norm_apply's expression; SiLU with the fast exp and division (the transpose's throughput;
// within an ulp or two of fp32, far below the fp16/bf16 rounding of the result).
struct GroupNormHook {
    const float2* stats;
    const act* gamma;
    const act* beta;
    int cpg, groups, silu, frames;
    template <int V> __device__ __forceinline__ void loaded(raw_t* e, i64 row, i64, i64) const {
        const i64 channels = (i64) cpg * groups, c = row % channels;
        const float2 s = stats[(row / (channels * frames)) * groups + c / cpg];
        const float scale = s.y * ld(gamma, c), shift = ld(beta, c);
#pragma unroll
        for (int i = 0; i < V; i++) {
            float r = (raw_f(e[i]) - s.x) * scale + shift;
            if (silu) r = __fdividef(r, 1.f + __expf(-r));
            e[i] = f_raw(r);
        }
    }
    template <int V> __device__ __forceinline__ void storing(raw_t*, i64, i64, i64) const {}
};

// y[n, c, p] = x[n, p, c] + residual[n, c, p] (residual laid out and offset like y): the resnet's "shortcut + conv2".
struct AddResidualHook {
    const act* residual;
    template <int V> __device__ __forceinline__ void loaded(raw_t*, i64, i64, i64) const {}
    template <int V> __device__ __forceinline__ void storing(raw_t* e, i64, i64, i64 at) const {
        raw_t r[V];
        raw_load<V>(reinterpret_cast<const raw_t*>(residual) + at, r);
#pragma unroll
        for (int i = 0; i < V; i++) e[i] = f_raw(raw_f(e[i]) + raw_f(r[i]));
    }
};

// y[n, c, p] = x[n, p, c] + rows[j] with row = row_base + n · C + c and j = (row / (period · repeat)) · period +
// row % period (TensorLayouts.RowBroadcast): the resnet's "conv1 + time embedding" over [B, F, C, H, W].
struct AddRowsHook {
    const act* rows;
    i64 channels, row_base, period, repeat;
    template <int V> __device__ __forceinline__ void loaded(raw_t*, i64, i64, i64) const {}
    template <int V> __device__ __forceinline__ void storing(raw_t* e, i64 batch, i64 c, i64) const {
        const i64 row = row_base + batch * channels + c;
        const float s = ld(rows, (row / (period * repeat)) * period + row % period);
#pragma unroll
        for (int i = 0; i < V; i++) e[i] = f_raw(raw_f(e[i]) + s);
    }
};

#define TRANSPOSE_HOOKED(V) \
    extern "C" __global__ void group_norm_transposed_##V(const act* __restrict__ x, act* __restrict__ y, i64 na, i64 nb, \
            i64 in_stride_b, i64 out_stride_a, TransposeBatch g, const float2* __restrict__ stats, const act* __restrict__ gamma, \
            const act* __restrict__ beta, int cpg, int groups, int silu, int frames) { \
        permute_tiled_body<V>(x, y, na, nb, in_stride_b, out_stride_a, g, GroupNormHook{stats, gamma, beta, cpg, groups, silu, frames}); \
    } \
    extern "C" __global__ void permute_tiled_add_##V(const act* __restrict__ x, act* __restrict__ y, i64 na, i64 nb, \
            i64 in_stride_b, i64 out_stride_a, TransposeBatch g, const act* __restrict__ residual) { \
        permute_tiled_body<V>(x, y, na, nb, in_stride_b, out_stride_a, g, AddResidualHook{residual}); \
    } \
    extern "C" __global__ void permute_tiled_add_rows_##V(const act* __restrict__ x, act* __restrict__ y, i64 na, i64 nb, \
            i64 in_stride_b, i64 out_stride_a, TransposeBatch g, const act* __restrict__ rows, i64 row_base, i64 period, i64 repeat) { \
        permute_tiled_body<V>(x, y, na, nb, in_stride_b, out_stride_a, g, AddRowsHook{rows, na, row_base, period, repeat}); \
    }
TRANSPOSE_HOOKED(1)
TRANSPOSE_HOOKED(2)
TRANSPOSE_HOOKED(4)
#if ACT_DTYPE != 0
TRANSPOSE_HOOKED(8)
#endif

// copy_rows on W-sized words (16 bytes at most; the host checks that every offset, row and length is a whole number
// of words and the bases are aligned): one grid row (blockIdx.y) per row, so no index is divided. The UNet's
// skip-connection concats ran at ~2 TB/s element by element.
template <typename W>
__device__ __forceinline__ void copy_rows_vec_body(const act* __restrict__ src, i64 src_row, i64 src_off, act* __restrict__ dst,
                                                   i64 dst_row, i64 dst_off, i64 words) {
    const W* s = reinterpret_cast<const W*>(src + (i64) blockIdx.y * src_row + src_off);
    W* d = reinterpret_cast<W*>(dst + (i64) blockIdx.y * dst_row + dst_off);
    for (i64 j = (i64) blockIdx.x * blockDim.x + threadIdx.x; j < words; j += (i64) blockDim.x * gridDim.x) d[j] = s[j];
}
extern "C" __global__ void copy_rows_16(const act* src, i64 src_row, i64 src_off, act* dst, i64 dst_row, i64 dst_off, i64 words) {
    copy_rows_vec_body<pm_w4>(src, src_row, src_off, dst, dst_row, dst_off, words);
}
extern "C" __global__ void copy_rows_8(const act* src, i64 src_row, i64 src_off, act* dst, i64 dst_row, i64 dst_off, i64 words) {
    copy_rows_vec_body<pm_w2>(src, src_row, src_off, dst, dst_row, dst_off, words);
}

// Nearest upsampling by exactly 2 in both directions (the UNet's and VAE's upsamplers): each thread writes V outputs
// (16 bytes at V = 8) from V/2 inputs; out_w % V == 0 and aligned bases (host), total = planes · out_h · out_w / V <
// 2^32. The element-wise kernel below decoded a 64-bit index per element (0.6 TB/s).
template <int V>
__device__ __forceinline__ void upsample2x_body(const act* __restrict__ xa, act* __restrict__ ya, unsigned total, unsigned row_v,
                                                unsigned out_h, unsigned in_w) {
    const raw_t* x = reinterpret_cast<const raw_t*>(xa);
    raw_t* y = reinterpret_cast<raw_t*>(ya);
    for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < total; i += blockDim.x * gridDim.x) {
        const unsigned row = i / row_v, xv = i - row * row_v;   // row = plane · out_h + oy
        const unsigned plane = row / out_h, oy = row - plane * out_h;
        raw_t in[V / 2], out[V];
        raw_load<V / 2>(x + ((i64) plane * (out_h / 2) + oy / 2) * in_w + (i64) xv * (V / 2), in);
#pragma unroll
        for (int k = 0; k < V / 2; k++) { out[2 * k] = in[k]; out[2 * k + 1] = in[k]; }
        raw_store<V>(y + (i64) i * V, out);
    }
}
#define UPSAMPLE2X(V) \
    extern "C" __global__ void upsample_nearest2x_v##V(const act* __restrict__ x, act* __restrict__ y, unsigned total, unsigned row_v, \
                                                      unsigned out_h, unsigned in_w) { upsample2x_body<V>(x, y, total, row_v, out_h, in_w); }
UPSAMPLE2X(2)
UPSAMPLE2X(4)
#if ACT_DTYPE != 0
UPSAMPLE2X(8)
#endif

// PyTorch 'nearest': src = min(floor(dst * (in / out)), in - 1) with the scale in fp32.
extern "C" __global__ void upsample_nearest(const act* x, act* y, i64 planes, int in_h, int in_w, int out_h, int out_w) {
    float sh = (float) in_h / (float) out_h, sw = (float) in_w / (float) out_w;
    GRID_STRIDE(i, planes * out_h * out_w) {
        i64 p = i / ((i64) out_h * out_w);
        int r = (int) (i - p * out_h * out_w);
        int oy = r / out_w, ox = r - oy * out_w;
        int iy = min((int) floorf(oy * sh), in_h - 1), ix = min((int) floorf(ox * sw), in_w - 1);
        y[i] = x[(p * in_h + iy) * in_w + ix];
    }
}

// col[n][(c, ky, kx)][(oy, ox)] from x[n, c, h, w], zero outside the padded border.
// Block (32, 8): each threadIdx.y walks whole output rows (n, c, ky, kx, oy), its 32 lanes striding along ox,
// so a row's index is decoded once (32-bit: the host bounds one launch to < 2^31 elements) instead of five
// 64-bit divisions per element, which made the element-wise version ~35x slower than its memory traffic.
extern "C" __global__ void im2col(const act* x, act* col, int images, int c, int h, int w, int kh, int kw,
                                  int stride_h, int stride_w, int pad_t, int pad_l, int oh, int ow) {
    const unsigned rows = (unsigned) images * c * kh * kw * oh;
    for (unsigned row = blockIdx.x * blockDim.y + threadIdx.y; row < rows; row += gridDim.x * blockDim.y) {
        unsigned r = row;
        const int oy = (int) (r % oh); r /= oh;
        const int kx = (int) (r % kw); r /= kw;
        const int ky = (int) (r % kh); r /= kh;
        const unsigned nc = r;                      // n * c + ch
        const int iy = oy * stride_h - pad_t + ky;
        act* dst = col + (i64) row * ow;
        if (iy < 0 || iy >= h) {
            for (int ox = threadIdx.x; ox < ow; ox += 32) dst[ox] = (act) 0;
            continue;
        }
        const act* src = x + ((i64) nc * h + iy) * w;
        for (int ox = threadIdx.x; ox < ow; ox += 32) {
            int ix = ox * stride_w - pad_l + kx;
            dst[ox] = (ix >= 0 && ix < w) ? src[ix] : (act) 0;
        }
    }
}

// out[i, :] = table[ids[i], :]; ids out of range give a NaN row so the error cannot pass unseen.
extern "C" __global__ void embedding(const act* table, const void* ids, int ids_dt, act* y, i64 count, i64 vocab, i64 d) {
    GRID_STRIDE(i, count * d) {
        i64 t = i / d, j = i - t * d;
        i64 id = (i64) ld_any(ids, ids_dt, t);
        if (id < 0 || id >= vocab) st(y, i, __int_as_float(0x7fc00000));
        else y[i] = table[id * d + j];
    }
}

// diffusers get_timestep_embedding, computed in fp32 in the same order as the PyTorch code.
extern "C" __global__ void timestep_embedding(const void* t, int t_dt, act* y, int batch, int dim, int flip,
                                              float shift, float scale, float log_max_period) {
    int half = dim / 2;
    GRID_STRIDE(i, (i64) batch * dim) {
        int b = (int) (i / dim), j = (int) (i - (i64) b * dim);
        float out = 0.f;
        if (j < 2 * half) {
            int k = j < half ? j : j - half;
            float freq = expf(-log_max_period * (float) k / ((float) half - shift));
            float arg = scale * ((float) ld_any(t, t_dt, b) * freq);
            bool first = j < half;
            bool use_sin = flip ? !first : first;
            out = use_sin ? sinf(arg) : cosf(arg);
        }
        st(y, i, out);
    }
}

// Channels-last nearest upsampling (the decoder's NHWC activations: ChannelsLastPlan): y[n, oy, ox, :] = x[n, iy, ix, :]
// with the source row and column of upsample_nearest; raw 16-byte copies of `cols` vectors per pixel. Host: channels a
// multiple of 16 / sizeof(act), fewer than 2^31 output vectors.
extern "C" __global__ void upsample_nearest_nhwc(const act* __restrict__ xa, act* __restrict__ ya, int images, int in_h, int in_w,
                                                 int out_h, int out_w, int cols) {
    constexpr int V = 16 / (int) sizeof(raw_t);
    const raw_t* x = reinterpret_cast<const raw_t*>(xa);
    raw_t* y = reinterpret_cast<raw_t*>(ya);
    const float sh = (float) in_h / (float) out_h, sw = (float) in_w / (float) out_w;
    const unsigned total = (unsigned) images * (unsigned) out_h * (unsigned) out_w * (unsigned) cols;
    for (unsigned j = blockIdx.x * blockDim.x + threadIdx.x; j < total; j += blockDim.x * gridDim.x) {
        const unsigned pix = j / (unsigned) cols, col = j - pix * (unsigned) cols;
        const unsigned row = pix / (unsigned) out_w, ox = pix - row * (unsigned) out_w;
        const unsigned n = row / (unsigned) out_h, oy = row - n * (unsigned) out_h;
        const int iy = min((int) floorf((int) oy * sh), in_h - 1), ix = min((int) floorf((int) ox * sw), in_w - 1);
        raw_t e[V];
        raw_load<V>(x + ((((i64) n * in_h + iy) * in_w + ix) * cols + col) * V, e);
        raw_store<V>(y + (i64) j * V, e);
    }
}
