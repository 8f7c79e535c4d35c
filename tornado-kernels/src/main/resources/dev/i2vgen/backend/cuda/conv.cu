// Implicit-GEMM convolution on tensor cores (fp16/bf16 storage, fp32 accumulation), NCHW in and out.
//
// One GEMM over all images at once: out[o, j] = bias[o] + sum_k W[o, k] * X[k, j] with k = (c, ky, kx)
// (K = C*KH*KW, W's own row-major layout [O, C, KH, KW]) and j = (n, oy, ox) over N*OH*OW columns; the
// column matrix X is never stored: each K tile of it is gathered from x straight into shared memory
// (zero outside the padded border), which removes im2col's write + read of C*9 values per output pixel.
// A TemporalConv is the (KH=3, KW=1) case over [B, C, F, H*W]. fp32 keeps the exact im2col + GEMM path.
//
// Block: 8 warps, a 128 (out channels) x 128 (columns) tile, K tiles of 32, double-buffered shared memory
// (weights by cp.async, gathered columns through registers while the previous tile is multiplied).
// Warps are 2 (rows) x 4 (columns), each owning 64 x 32 of the tile: 4 x 4 mma.sync m16n8k16 per k16.
// Two blocks per SM (registers capped at 128 per thread), so one block's gather overlaps the other's MMAs.
#if ACT_DTYPE != 0
#include "mma_sync.cuh"

#define CV_BM 128
#define CV_BN 128
#define CV_BK 32
#define CV_LDA (CV_BK + 8)    // 80-byte rows: the 8 row addresses of one ldmatrix hit distinct bank groups
#define CV_LDB (CV_BN + 8)    // 272-byte rows: likewise
#define CV_THREADS 256

__device__ __forceinline__ void cv_wait_all() { asm volatile("cp.async.wait_group 0;" ::: "memory"); }

// x[N, C, H, W], w[O, C*KH*KW], bias[O] or null, out[N, O, OH, OW]. vec_w: K % 8 == 0 and w 16-byte aligned,
// so weight rows are copied in 16-byte chunks; else element by element (the few convs with C = 3 or 4).
// The host guarantees C*H*W < 2^31 and N*OH*OW < 2^31 (32-bit offsets inside one image / column index).
template <int KH, int KW>
__device__ __forceinline__ void conv_igemm_impl(const act* __restrict__ x, const act* __restrict__ w,
        const act* __restrict__ bias, act* __restrict__ out, int n_img, int c_in, int h, int wd, int o_ch,
        int stride_h, int stride_w, int pad_t, int pad_l, int oh, int ow, int vec_w) {
    constexpr int KK = KH * KW;
    __shared__ __align__(16) unsigned short as[2][CV_BM * CV_LDA];
    __shared__ __align__(16) unsigned short bs[2][CV_BK * CV_LDB];
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int wm = warp >> 2, wn = warp & 3;
    const int k_total = c_in * KK;
    const int pixels = oh * ow, columns = n_img * pixels;
    const int o0 = blockIdx.y * CV_BM, j0 = blockIdx.x * CV_BN;

    // This thread gathers column j0 + col of every K tile, rows row0, row0 + 2, ..., row0 + 30. A column
    // beyond the last one gets an origin far outside the image, so every bounds test below rejects it.
    const int col = tid & (CV_BN - 1), row0 = tid >> 7;
    const int j = j0 + col;
    int iy0 = -(1 << 28), ix0 = 0, pix = 0;
    const act* ximg = x;
    if (j < columns) {
        int n = j / pixels, p = j - n * pixels, oy = p / ow, ox = p - oy * ow;
        iy0 = oy * stride_h - pad_t;
        ix0 = ox * stride_w - pad_l;
        pix = iy0 * wd + ix0;   // may be negative (padding): only added to in-bounds offsets
        ximg = x + (i64) n * c_in * h * wd;
    }
    // Per K tile, a table of the 32 rows' (c*H*W + ky*W + kx, ky, kx), built once per block by one warp
    // (double-buffered, one tile ahead), so the gather does no divisions; rows k >= K get ky out of range.
    __shared__ int koff[2][CV_BK], kyx[2][CV_BK];
    auto build_table = [&](int k0, int buf) {
        if (tid < CV_BK) {
            int k = k0 + tid;
            int c = k / KK, r = k - c * KK, ky = r / KW, kx = r - ky * KW;
            bool in = k < k_total;   // the host bounds h < 2^20, so ky = 2^20 is outside every image
            koff[buf][tid] = in ? c * h * wd + ky * wd + kx : 0;
            kyx[buf][tid] = in ? (ky << 8) | kx : (1 << 28);   // kx < 256 (KW <= 3)
        }
    };
    unsigned breg[CV_BK / 4];   // the 16 gathered values, two per register (register pressure)
    auto gather = [&](int buf) {
#pragma unroll
        for (int i = 0; i < CV_BK / 2; i++) {
            int yx = kyx[buf][row0 + 2 * i];
            int iy = iy0 + (yx >> 8), ix = ix0 + (yx & 255);
            bool ok = (unsigned) iy < (unsigned) h && (unsigned) ix < (unsigned) wd;
            unsigned v = ok ? ximg[pix + koff[buf][row0 + 2 * i]] : 0u;
            breg[i >> 1] = (i & 1) ? (breg[i >> 1] | (v << 16)) : v;
        }
    };
    auto store_b = [&](int buf) {
#pragma unroll
        for (int i = 0; i < CV_BK / 2; i++) bs[buf][(row0 + 2 * i) * CV_LDB + col] = (unsigned short) (breg[i >> 1] >> ((i & 1) * 16));
    };
    auto load_a = [&](int k0, int buf) {
        if (vec_w) {
#pragma unroll
            for (int i = 0; i < 2; i++) {   // 128 rows x 4 chunks of 8
                int chunk = tid + i * CV_THREADS, r = chunk >> 2, kc = (chunk & 3) * 8;
                bool ok = o0 + r < o_ch && k0 + kc < k_total;
                cp_async16(smem_u32(&as[buf][r * CV_LDA + kc]), ok ? w + (i64) (o0 + r) * k_total + k0 + kc : w, ok);
            }
            mma_commit();
        } else {
            for (int e = tid; e < CV_BM * CV_BK; e += CV_THREADS) {
                int r = e / CV_BK, kc = e - r * CV_BK;
                bool ok = o0 + r < o_ch && k0 + kc < k_total;
                as[buf][r * CV_LDA + kc] = ok ? w[(i64) (o0 + r) * k_total + k0 + kc] : (unsigned short) 0;
            }
        }
    };

    float acc[4][4][4];
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 4; b++) acc[a][b][0] = acc[a][b][1] = acc[a][b][2] = acc[a][b][3] = 0.f;

    const int tiles = (k_total + CV_BK - 1) / CV_BK;
    build_table(0, 0);
    build_table(CV_BK, 1);
    load_a(0, 0);
    __syncthreads();
    gather(0);
    store_b(0);
    cv_wait_all();
    __syncthreads();
    for (int kt = 0; kt < tiles; kt++) {
        const int cur = kt & 1;
        const bool more = kt + 1 < tiles;
        if (more) {   // next tile's loads in flight while this one is multiplied
            load_a((kt + 1) * CV_BK, cur ^ 1);
            gather(cur ^ 1);
        }
        // the table of tile kt+2 replaces tile kt's (last read by the gather in the previous iteration);
        // the barrier at the end of this iteration publishes it
        build_table((kt + 2) * CV_BK, cur);
        const unsigned short* at = as[cur];
        const unsigned short* bt = bs[cur];
#pragma unroll
        for (int kk = 0; kk < CV_BK / 16; kk++) {
            unsigned af[4][4];
#pragma unroll
            for (int mi = 0; mi < 4; mi++)
                mma_ldsm4(smem_u32(at + (wm * 64 + mi * 16 + (lane & 15)) * CV_LDA + kk * 16 + (lane >> 4) * 8),
                         af[mi][0], af[mi][1], af[mi][2], af[mi][3]);
#pragma unroll
            for (int nj = 0; nj < 2; nj++) {
                unsigned b0, b1, b2, b3;   // columns nj*16..+7 (k lo, hi), nj*16+8..+15 (k lo, hi)
                mma_ldsm4t(smem_u32(bt + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * CV_LDB + wn * 32 + nj * 16 + (lane >> 4) * 8),
                          b0, b1, b2, b3);
#pragma unroll
                for (int mi = 0; mi < 4; mi++) {
                    mma_m16n8k16(acc[mi][2 * nj], af[mi], b0, b1);
                    mma_m16n8k16(acc[mi][2 * nj + 1], af[mi], b2, b3);
                }
            }
        }
        if (more) store_b(cur ^ 1);
        cv_wait_all();
        __syncthreads();
    }

    // Epilogue: bias, rounding to the storage type, NCHW scatter (a column pair may straddle two images).
#pragma unroll
    for (int mi = 0; mi < 4; mi++) {
#pragma unroll
        for (int hr = 0; hr < 2; hr++) {
            int o = o0 + wm * 64 + mi * 16 + g + hr * 8;
            if (o >= o_ch) continue;
            float bv = bias ? ld(bias, o) : 0.f;
#pragma unroll
            for (int ni = 0; ni < 4; ni++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int jj = j0 + wn * 32 + ni * 8 + 2 * t + e;
                    if (jj >= columns) continue;
                    int n = jj / pixels, p = jj - n * pixels;
                    st(out, ((i64) n * o_ch + o) * pixels + p, acc[mi][ni][hr * 2 + e] + bv);
                }
            }
        }
    }
}

#define CV_KERNEL(KH, KW) \
extern "C" __global__ void __launch_bounds__(CV_THREADS, 2) conv_igemm_k##KH##x##KW( \
        const act* x, const act* w, const act* bias, act* out, int n_img, int c_in, int h, int wd, int o_ch, \
        int stride_h, int stride_w, int pad_t, int pad_l, int oh, int ow, int vec_w) { \
    conv_igemm_impl<KH, KW>(x, w, bias, out, n_img, c_in, h, wd, o_ch, stride_h, stride_w, pad_t, pad_l, oh, ow, vec_w); }
CV_KERNEL(3, 3)
CV_KERNEL(3, 1)
CV_KERNEL(1, 1)
#endif
