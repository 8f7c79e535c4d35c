// The tensor-core flash attention kernels for fp16/bf16 (v2 mma.sync, v3 "lean", v4 "pipe"): their device code and
// the macros that instantiate them. Inlined (KernelSources) by attention.cu, which instantiates the kernels the
// default settings launch, and attention_variants.cu, which instantiates the others: two modules, so a start with
// an empty kernel cache compiles only the first (the critical path of that start; notes, section 22).
#if ACT_DTYPE != 0
// ---------------------------------------------------------------------------------------------------------
// Tensor-core flash attention for fp16/bf16 storage (FlashAttention-2 scheme): mma.sync m16n8k16 with fp32
// accumulation, ldmatrix fragment loads, cp.async double-buffered K/V tiles, online softmax in base 2.
// Each warp owns 16 query rows; a block of WARPS warps shares every tile of KT keys. The score tile lives
// only in registers (P is re-packed from the S accumulators into A fragments without touching memory).
// Same layout as `attention`: q[B, Lq, H*D], k/v[B, Lk, H*D], out[B, Lq, H*D], rows ldq / ldkv / ldo apart (k and v
// share one stride); needs D % 16 == 0, strides % 8 == 0 and 16-byte aligned bases (checked on the host). 1-D grid: blockIdx.x = bh * qblocks + qb,
// because B*H reaches 140,800 in the temporal attention (over the 65,535 limit of gridDim.y).
#include "mma_sync.cuh"

template <int N> __device__ __forceinline__ void fa_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N)); }
// Two floats to one register of two 16-bit values, lo in the low half (the element with the lower index).
__device__ __forceinline__ unsigned fa_pack(float lo, float hi) {
    unsigned r;
    asm("cvt.rn." MMA_T "x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

template <int D, int WARPS, int KT>
__device__ __forceinline__ void flash_attention_impl(const act* __restrict__ q, const act* __restrict__ k,
        const act* __restrict__ v, act* __restrict__ out, int lq, int lk, int heads, float scale_log2, int causal,
        int ldq, int ldkv, int ldo) {
    constexpr int BM = 16 * WARPS, LD = D + 8, CH = D / 8, NT = WARPS * 32;
    // Rows padded by 16 bytes: the 8 row addresses of one ldmatrix fall in distinct 16-byte bank groups.
    extern __shared__ __align__(16) unsigned short fa_sm[];
    unsigned short* qs = fa_sm;                 // [BM][LD]
    unsigned short* ks = qs + BM * LD;          // [2][KT][LD]
    unsigned short* vs = ks + 2 * KT * LD;      // [2][KT][LD]
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int qblocks = (lq + BM - 1) / BM;
    const int bh = blockIdx.x / qblocks, q0 = (blockIdx.x - bh * qblocks) * BM;
    const int b = bh / heads, h = bh - b * heads;
    const i64 rq = ldq, rkv = ldkv, ro = ldo;   // row strides in elements
    const act* qb = q + (i64) b * lq * rq + (i64) h * D;
    const act* kb = k + (i64) b * lk * rkv + (i64) h * D;
    const act* vb = v + (i64) b * lk * rkv + (i64) h * D;

    for (int c = tid; c < BM * CH; c += NT) {
        int r = c / CH, cc = c - r * CH;
        bool ok = q0 + r < lq;
        cp_async16(smem_u32(qs + r * LD + cc * 8), ok ? qb + (i64) (q0 + r) * rq + cc * 8 : qb, ok);
    }
    const int kend = causal ? min(lk, q0 + BM) : lk;
    const int ntiles = (kend + KT - 1) / KT;
    auto load_kv = [&](int tile, int buf) {
        for (int c = tid; c < KT * CH; c += NT) {
            int r = c / CH, cc = c - r * CH, key = tile * KT + r;
            bool ok = key < lk;   // zero-filled rows beyond lk: masked scores, and P = 0 times 0 (never garbage)
            i64 off = (i64) key * rkv + cc * 8;
            cp_async16(smem_u32(ks + (buf * KT + r) * LD + cc * 8), ok ? kb + off : kb, ok);
            cp_async16(smem_u32(vs + (buf * KT + r) * LD + cc * 8), ok ? vb + off : vb, ok);
        }
    };
    load_kv(0, 0);
    mma_commit();

    unsigned qf[D / 16][4];
    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
    float m[2] = {__int_as_float(0xff800000), __int_as_float(0xff800000)}, l[2] = {0.f, 0.f};
    const int qrow = q0 + warp * 16 + g;   // this thread's rows: qrow and qrow + 8

    for (int j = 0; j < ntiles; j++) {
        if (j + 1 < ntiles) { load_kv(j + 1, (j + 1) & 1); mma_commit(); fa_wait<1>(); }
        else fa_wait<0>();
        __syncthreads();
        if (j == 0) {
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++)
                mma_ldsm4(smem_u32(qs + (warp * 16 + (lane & 15)) * LD + kk * 16 + (lane >> 4) * 8), qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3]);
        }
        const unsigned short* kt = ks + (j & 1) * KT * LD;
        const unsigned short* vt = vs + (j & 1) * KT * LD;

        float s[KT / 8][4];
#pragma unroll
        for (int n = 0; n < KT / 8; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
            for (int n = 0; n < KT / 16; n++) {
                unsigned b0, b1, b2, b3;   // keys n*16..+7 (dims lo, hi), keys n*16+8..+15 (dims lo, hi)
                mma_ldsm4(smem_u32(kt + (n * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 + ((lane >> 3) & 1) * 8), b0, b1, b2, b3);
                mma_m16n8k16(s[2 * n], qf[kk], b0, b1);
                mma_m16n8k16(s[2 * n + 1], qf[kk], b2, b3);
            }
        }
        const int key0 = j * KT;
        const bool edge = key0 + KT > lk || (causal && key0 + KT - 1 > q0 + warp * 16);
#pragma unroll
        for (int n = 0; n < KT / 8; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float x = s[n][e];   // raw score; scale_log2 is applied inside the exponent's FFMA
                if (edge) {
                    int key = key0 + n * 8 + 2 * t + (e & 1), qi = qrow + (e >> 1) * 8;
                    if (key >= lk || (causal && key > qi)) x = __int_as_float(0xff800000);
                }
                s[n][e] = x;
            }
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = __int_as_float(0xff800000);
#pragma unroll
            for (int n = 0; n < KT / 8; n++) mx = fmaxf(mx, fmaxf(s[n][2 * r], s[n][2 * r + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            float mnew = fmaxf(m[r], mx * scale_log2);   // m in scaled base-2 units (scale > 0)
            float base = mnew == __int_as_float(0xff800000) ? 0.f : mnew;   // a row with nothing visible yet
            float corr = exp2f(m[r] - base);
            m[r] = mnew;
            float sum = 0.f;
#pragma unroll
            for (int n = 0; n < KT / 8; n++) {
                float p0 = exp2f(fmaf(s[n][2 * r], scale_log2, -base)), p1 = exp2f(fmaf(s[n][2 * r + 1], scale_log2, -base));
                s[n][2 * r] = p0;
                s[n][2 * r + 1] = p1;
                sum += p0 + p1;
            }
            l[r] = l[r] * corr + sum;   // per-thread partial; the quad's partials are summed once at the end
#pragma unroll
            for (int n = 0; n < D / 8; n++) { o[n][2 * r] *= corr; o[n][2 * r + 1] *= corr; }
        }
#pragma unroll
        for (int kk = 0; kk < KT / 16; kk++) {
            unsigned a[4] = {fa_pack(s[2 * kk][0], s[2 * kk][1]), fa_pack(s[2 * kk][2], s[2 * kk][3]),
                             fa_pack(s[2 * kk + 1][0], s[2 * kk + 1][1]), fa_pack(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int n = 0; n < D / 16; n++) {
                unsigned b0, b1, b2, b3;   // dims n*16..+7 (keys lo, hi), dims n*16+8..+15 (keys lo, hi)
                mma_ldsm4t(smem_u32(vt + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + n * 16 + (lane >> 4) * 8), b0, b1, b2, b3);
                mma_m16n8k16(o[2 * n], a, b0, b1);
                mma_m16n8k16(o[2 * n + 1], a, b2, b3);
            }
        }
        __syncthreads();   // this buffer is refilled by the next iteration's prefetch
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        float sum = l[r];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        int qi = qrow + r * 8;
        if (qi >= lq) continue;
        float inv = 1.f / sum;
        unsigned* dst = (unsigned*) (out + ((i64) b * lq + qi) * ro + (i64) h * D + 2 * t);
#pragma unroll
        for (int n = 0; n < D / 8; n++) dst[n * 4] = fa_pack(o[n][2 * r] * inv, o[n][2 * r + 1] * inv);
    }
}

// Instantiations, flash_attention_d{D}_w{warps}_k{key tile}: w1_k16 for short query sequences (the temporal
// attention: 16 frames, where a 64-query block would be three quarters padding), larger ones for long sequences.
#define FA_KERNEL(D, WARPS, KT) \
extern "C" __global__ void __launch_bounds__(WARPS * 32) flash_attention_d##D##_w##WARPS##_k##KT( \
        const act* q, const act* k, const act* v, act* out, int lq, int lk, int heads, float scale_log2, int causal, \
        int ldq, int ldkv, int ldo) { \
    flash_attention_impl<D, WARPS, KT>(q, k, v, out, lq, lk, heads, scale_log2, causal, ldq, ldkv, ldo); }

// ---------------------------------------------------------------------------------------------------------
// v3 "lean" flash kernels: the tiles and data flow of flash_attention_impl with the non-tensor work per score
// cut down; v2 issues more instructions for the softmax and addressing than for its mma.sync (notes, section 1):
//  * exp2 as ex2.approx.ftz.f32: exp2f() without ftz wraps every MUFU.EX2 in a denormal fix-up;
//  * lazy rescale: a row's reference max m moves only when a tile's max exceeds it by more than FA_RESCALE
//    (log2 units), decided once per warp (vote), so O and l are rescaled a few times per row, not every tile.
//    P = 2^(s*scale_log2 - m) is then at most 2^FA_RESCALE = 256: fp16/bf16 round it with the same relative
//    error as a P <= 1, and the fp32 accumulators are far from overflow;
//  * row sums by one extra mma per 16 keys against a B fragment of ones (C[r][n] = sum_k P[r][k]) instead of
//    32 serial FADDs and the final quad shuffles; it also sums exactly the rounded P that multiplies V;
//  * row max as a tree (latency), not a serial chain;
//  * shared-memory addresses as 32-bit offsets fixed per lane (v2 rebuilds 64-bit generic addresses for every
//    ldmatrix), and a K/V prefetch without 64-bit index arithmetic per chunk;
//  * three K/V buffers: one barrier per key tile instead of two (a buffer is refilled two tiles after its use,
//    and every warp has passed the previous tile's barrier by then).
// MT = 16-row query tiles per warp: MT = 2 uses every K/V fragment from ldmatrix for two mma rows, halving the
// shared-memory traffic per mma. Key tile fixed at 64 (128 needs too many registers, notes v2).
// PIPE (v4): software-pipelined over key tiles. S(j+1) = Q K(j+1)^T is issued in the same basic block as the
// exponentials of tile j and O += P(j) V(j), so the warp's own mma.sync overlap its MUFU/FFMA work; only the
// row max of the next tile stands alone. With two warps per scheduler (the register budget of MT = 2) the
// other warp cannot hide a whole softmax phase, hence the tensor pipe idled in v3 between the two mma phases.
#define FA_RESCALE 8.f
#define FA_STAGES 3
#define FA_KT 64
#if ACT_DTYPE == 1
#define FA_ONES 0x3C003C00u   // two fp16 1.0
#else
#define FA_ONES 0x3F803F80u   // two bf16 1.0
#endif

__device__ __forceinline__ float fa_ex2(float x) {   // 2^x, denormal results flushed to 0 (P < 2^-126 is noise)
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// S = Q K^T for one key tile; kt = this lane's ldmatrix address in the K tile (rows padded to ROWB bytes)
template <int D, int MT, int ROWB>
__device__ __forceinline__ void fa_qk(float (&s)[MT][FA_KT / 8][4], const unsigned (&qf)[MT][D / 16][4], unsigned kt) {
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int n = 0; n < FA_KT / 8; n++) s[i][n][0] = s[i][n][1] = s[i][n][2] = s[i][n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
        for (int n = 0; n < FA_KT / 16; n++) {
            unsigned b0, b1, b2, b3;   // keys n*16..+7 (dims lo, hi), keys n*16+8..+15 (dims lo, hi)
            mma_ldsm4(kt + n * 16 * ROWB + kk * 32, b0, b1, b2, b3);
#pragma unroll
            for (int i = 0; i < MT; i++) {
                mma_m16n8k16(s[i][2 * n], qf[i][kk], b0, b1);
                mma_m16n8k16(s[i][2 * n + 1], qf[i][kk], b2, b3);
            }
        }
    }
}

// -inf for keys beyond lk and, when causal, keys after the query; only tiles at an edge take the branch
template <int MT>
__device__ __forceinline__ void fa_mask(float (&s)[MT][FA_KT / 8][4], int key0, int lk, int causal, int wrow0, int g, int t) {
    if (key0 + FA_KT > lk || (causal && key0 + FA_KT - 1 > wrow0)) {   // warp-uniform
#pragma unroll
        for (int i = 0; i < MT; i++)
#pragma unroll
            for (int n = 0; n < FA_KT / 8; n++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    int key = key0 + n * 8 + 2 * t + (e & 1), qi = wrow0 + i * 16 + g + (e >> 1) * 8;
                    if (key >= lk || (causal && key > qi)) s[i][n][e] = __int_as_float(0xff800000);
                }
    }
}

// Tile max per row (a tree, then across the quad sharing the row); moves the warp's reference maxima and
// rescales O and l only when some row's max grew by more than FA_RESCALE.
template <int D, int MT>
__device__ __forceinline__ void fa_max(const float (&s)[MT][FA_KT / 8][4], float (&m)[MT][2], float (&l)[MT][4],
                                       float (&o)[MT][D / 8][4], float scale_log2) {
    const float NEG_INF = __int_as_float(0xff800000);
    float mx[MT][2];
    bool grow = false;
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float a[FA_KT / 8];
#pragma unroll
            for (int n = 0; n < FA_KT / 8; n++) a[n] = fmaxf(s[i][n][2 * r], s[i][n][2 * r + 1]);
#pragma unroll
            for (int w = FA_KT / 16; w > 0; w >>= 1)
#pragma unroll
                for (int n = 0; n < w; n++) a[n] = fmaxf(a[n], a[n + w]);
            float x = fmaxf(a[0], __shfl_xor_sync(0xffffffffu, a[0], 1));
            x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
            mx[i][r] = x * scale_log2;   // scale > 0; -inf stays -inf (nothing visible in this tile)
            grow |= mx[i][r] > m[i][r] + FA_RESCALE;   // true on a row's first visible tile (m = -inf)
        }
    if (__any_sync(0xffffffffu, grow)) {   // rare after the first tiles: move every row of the warp to its max
#pragma unroll
        for (int i = 0; i < MT; i++)
#pragma unroll
            for (int r = 0; r < 2; r++) {
                float mnew = fmaxf(m[i][r], mx[i][r]);
                float corr = m[i][r] == NEG_INF ? 0.f : fa_ex2(m[i][r] - mnew);   // O, l are still 0 if -inf
                m[i][r] = mnew;
                l[i][2 * r] *= corr;
                l[i][2 * r + 1] *= corr;
#pragma unroll
                for (int n = 0; n < D / 8; n++) { o[i][n][2 * r] *= corr; o[i][n][2 * r + 1] *= corr; }
            }
    }
}

// P = 2^(s*scale_log2 - m), packed to 16-bit pairs in the A-fragment order of O += P V
template <int MT>
__device__ __forceinline__ void fa_exp(const float (&s)[MT][FA_KT / 8][4], const float (&m)[MT][2], float scale_log2,
                                       unsigned (&p)[MT][FA_KT / 16][4]) {
#pragma unroll
    for (int i = 0; i < MT; i++) {
        // no key visible yet: every s is -inf and P = 0
        float b0 = m[i][0] == __int_as_float(0xff800000) ? 0.f : m[i][0], b1 = m[i][1] == __int_as_float(0xff800000) ? 0.f : m[i][1];
#pragma unroll
        for (int kk = 0; kk < FA_KT / 16; kk++) {
            const float* x = s[i][2 * kk];
            const float* y = s[i][2 * kk + 1];
            p[i][kk][0] = fa_pack(fa_ex2(fmaf(x[0], scale_log2, -b0)), fa_ex2(fmaf(x[1], scale_log2, -b0)));
            p[i][kk][1] = fa_pack(fa_ex2(fmaf(x[2], scale_log2, -b1)), fa_ex2(fmaf(x[3], scale_log2, -b1)));
            p[i][kk][2] = fa_pack(fa_ex2(fmaf(y[0], scale_log2, -b0)), fa_ex2(fmaf(y[1], scale_log2, -b0)));
            p[i][kk][3] = fa_pack(fa_ex2(fmaf(y[2], scale_log2, -b1)), fa_ex2(fmaf(y[3], scale_log2, -b1)));
        }
    }
}

// O += P V and l += P 1 for one key tile; vt = this lane's ldmatrix.trans address in the V tile
template <int D, int MT, int ROWB>
__device__ __forceinline__ void fa_pv(float (&o)[MT][D / 8][4], float (&l)[MT][4], const unsigned (&p)[MT][FA_KT / 16][4], unsigned vt) {
#pragma unroll
    for (int kk = 0; kk < FA_KT / 16; kk++) {
#pragma unroll
        for (int i = 0; i < MT; i++) mma_m16n8k16(l[i], p[i][kk], FA_ONES, FA_ONES);
#pragma unroll
        for (int n = 0; n < D / 16; n++) {
            unsigned b0, b1, b2, b3;   // dims n*16..+7 (keys lo, hi), dims n*16+8..+15 (keys lo, hi)
            mma_ldsm4t(vt + kk * 16 * ROWB + n * 32, b0, b1, b2, b3);
#pragma unroll
            for (int i = 0; i < MT; i++) {
                mma_m16n8k16(o[i][2 * n], p[i][kk], b0, b1);
                mma_m16n8k16(o[i][2 * n + 1], p[i][kk], b2, b3);
            }
        }
    }
}

template <int D, int WARPS, int MT, bool PIPE>
__device__ __forceinline__ void flash_lean_impl(const act* __restrict__ q, const act* __restrict__ k,
        const act* __restrict__ v, act* __restrict__ out, int lq, int lk, int heads, float scale_log2, int causal,
        int ldq, int ldkv, int ldo) {
    constexpr int KT = FA_KT, WM = 16 * MT, BM = WM * WARPS, LD = D + 8, CH = D / 8, NT = WARPS * 32;
    constexpr int ROWB = LD * 2, TILEB = KT * ROWB;   // bytes of one padded smem row / one K or V tile
    constexpr int PASSES = (KT * CH + NT - 1) / NT;   // 16-byte chunks per thread per K (and V) tile
    extern __shared__ __align__(16) unsigned short fa_sm[];
    // [BM][LD] queries, then [FA_STAGES][KT][LD] keys, then values; rows padded by 16 bytes so the 8 row
    // addresses of one ldmatrix fall in distinct 16-byte bank groups
    const unsigned sq = smem_u32(fa_sm), sk = sq + BM * ROWB, sv = sk + FA_STAGES * TILEB;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int qblocks = (lq + BM - 1) / BM;
    const int bh = blockIdx.x / qblocks, q0 = (blockIdx.x - bh * qblocks) * BM;
    const int b = bh / heads, h = bh - b * heads;
    const i64 rq = ldq, rkv = ldkv, ro = ldo;   // row strides in elements
    const act* qb = q + (i64) b * lq * rq + (i64) h * D;
    const act* kb = k + (i64) b * lk * rkv + (i64) h * D;
    const act* vb = v + (i64) b * lk * rkv + (i64) h * D;

    for (int c = tid; c < BM * CH; c += NT) {
        int r = c / CH, cc = c - r * CH;
        bool ok = q0 + r < lq;
        cp_async16(sq + r * ROWB + cc * 16, ok ? qb + (i64) (q0 + r) * rq + cc * 8 : qb, ok);
    }
    const int kend = causal ? min(lk, q0 + BM) : lk;
    const int ntiles = (kend + KT - 1) / KT;
    // K/V prefetch. Rows beyond lk are zero-filled (masked scores, and P = 0 times 0, never garbage); a
    // zero-size cp.async reads nothing, so its source address needs no clamping.
    const int lr0 = tid / CH, lcc = tid - lr0 * CH;   // this thread's first row and 16-byte column
    const i64 lane_off = (i64) lr0 * rkv + lcc * 8;
    auto load_kv = [&](int tile, int buf) {
        if constexpr (NT % CH == 0) {   // d = 64, 128: the same column on every pass, rows RP apart
            constexpr int RP = NT / CH;
            const i64 toff = (i64) tile * KT * rkv + lane_off;
            const int rem = lk - tile * KT - lr0;   // rows lr0 + p*RP < lk <=> p*RP < rem
            const unsigned dst = buf * TILEB + lr0 * ROWB + lcc * 16;
#pragma unroll
            for (int p = 0; p < KT / RP; p++) {
                const i64 off = toff + (i64) p * RP * rkv;
                cp_async16(sk + dst + p * RP * ROWB, kb + off, p * RP < rem);
                cp_async16(sv + dst + p * RP * ROWB, vb + off, p * RP < rem);
            }
        } else {   // d = 80 with 256 threads: 10 chunks a row do not divide the passes
#pragma unroll
            for (int p = 0; p < PASSES; p++) {
                int c = tid + p * NT;
                if ((KT * CH) % NT != 0 && c >= KT * CH) break;
                int r = c / CH, cc = c - r * CH, key = tile * KT + r;   // CH is a constant: no division
                bool ok = key < lk;
                i64 off = ok ? (i64) key * rkv + cc * 8 : 0;
                unsigned dst = buf * TILEB + r * ROWB + cc * 16;
                cp_async16(sk + dst, kb + off, ok);
                cp_async16(sv + dst, vb + off, ok);
            }
        }
    };
    load_kv(0, 0);
    mma_commit();   // group: Q and tile 0
    if (PIPE && ntiles > 1) { load_kv(1, 1); mma_commit(); }

    // per-lane ldmatrix offsets: K as the col-major B operand of S = Q K^T, V transposed for O = P V
    const unsigned k_lane = sk + ((lane & 7) + (lane >> 4) * 8) * ROWB + ((lane >> 3) & 1) * 16;
    const unsigned v_lane = sv + ((lane & 7) + ((lane >> 3) & 1) * 8) * ROWB + (lane >> 4) * 16;
    unsigned qf[MT][D / 16][4];
    float o[MT][D / 8][4];
    float l[MT][4];   // row sums from the ones-mma: [0], [1] row g; [2], [3] row g + 8 (duplicates)
    float m[MT][2];   // reference max per row (g, g + 8), scaled base-2 units; -inf until a key was visible
#pragma unroll
    for (int i = 0; i < MT; i++) {
#pragma unroll
        for (int n = 0; n < D / 8; n++) o[i][n][0] = o[i][n][1] = o[i][n][2] = o[i][n][3] = 0.f;
        l[i][0] = l[i][1] = l[i][2] = l[i][3] = 0.f;
        m[i][0] = m[i][1] = __int_as_float(0xff800000);
    }
    const int wrow0 = q0 + warp * WM;   // first query row of this warp; thread rows wrow0 + i*16 + g (+ 8)
    auto load_q = [&]() {
#pragma unroll
        for (int i = 0; i < MT; i++)
#pragma unroll
            for (int kk = 0; kk < D / 16; kk++)
                mma_ldsm4(sq + (warp * WM + i * 16 + (lane & 15)) * ROWB + kk * 32 + (lane >> 4) * 16,
                         qf[i][kk][0], qf[i][kk][1], qf[i][kk][2], qf[i][kk][3]);
    };
    float s[MT][KT / 8][4];
    unsigned p[MT][KT / 16][4];

    if (!PIPE) {
        int buf = 0;   // j % FA_STAGES
        for (int j = 0; j < ntiles; j++) {
            if (j + 1 < ntiles) { load_kv(j + 1, buf == FA_STAGES - 1 ? 0 : buf + 1); mma_commit(); fa_wait<1>(); }
            else fa_wait<0>();
            __syncthreads();   // tile j visible to all; every warp is done with tile j - 1 (so tile j + 2 may refill it)
            if (j == 0) load_q();
            fa_qk<D, MT, ROWB>(s, qf, k_lane + buf * TILEB);
            fa_mask<MT>(s, j * KT, lk, causal, wrow0, g, t);
            fa_max<D, MT>(s, m, l, o, scale_log2);
            fa_exp<MT>(s, m, scale_log2, p);
            fa_pv<D, MT, ROWB>(o, l, p, v_lane + buf * TILEB);
            buf = buf == FA_STAGES - 1 ? 0 : buf + 1;
        }
    } else if (ntiles > 0) {
        if (ntiles > 1) fa_wait<1>(); else fa_wait<0>();
        __syncthreads();
        load_q();
        fa_qk<D, MT, ROWB>(s, qf, k_lane);
        fa_mask<MT>(s, 0, lk, causal, wrow0, g, t);
        fa_max<D, MT>(s, m, l, o, scale_log2);
        int buf = 0;   // j % FA_STAGES
        for (int j = 0; j < ntiles; j++) {
            const int next = buf == FA_STAGES - 1 ? 0 : buf + 1;
            if (j + 1 < ntiles) fa_wait<0>();   // tile j + 1 (the only group in flight) has landed
            // tile j + 1 visible to all; every warp is done with iteration j - 1, which read K(j) and V(j - 1),
            // so tile j + 2 may refill the buffer of tile j - 1
            __syncthreads();
            if (j + 2 < ntiles) { load_kv(j + 2, next == FA_STAGES - 1 ? 0 : next + 1); mma_commit(); }
            fa_exp<MT>(s, m, scale_log2, p);
            // no branch between these: one basic block for the scheduler to interleave. On the last tile the
            // S of a stale buffer is computed and dropped (cheaper than splitting the block).
            fa_qk<D, MT, ROWB>(s, qf, k_lane + next * TILEB);
            fa_pv<D, MT, ROWB>(o, l, p, v_lane + buf * TILEB);
            if (j + 1 < ntiles) {
                fa_mask<MT>(s, (j + 1) * KT, lk, causal, wrow0, g, t);
                fa_max<D, MT>(s, m, l, o, scale_log2);
            }
            buf = next;
        }
    }
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int r = 0; r < 2; r++) {
            int qi = wrow0 + i * 16 + g + r * 8;
            if (qi >= lq) continue;
            float inv = 1.f / l[i][2 * r];
            unsigned* dst = (unsigned*) (out + ((i64) b * lq + qi) * ro + (i64) h * D + 2 * t);
#pragma unroll
            for (int n = 0; n < D / 8; n++) dst[n * 4] = fa_pack(o[i][n][2 * r] * inv, o[i][n][2 * r + 1] * inv);
        }
}

// flash_lean_d{D}_w{warps}_m{16-row tiles per warp} (v3) and flash_pipe_... (v4, PIPE); MINB = blocks per SM the
// registers must allow (2 blocks of 128 threads leave up to 255 registers for the m2 tiles; 2 of 256 need <= 128).
// Dynamic shared memory: (16 * MT * WARPS + 2 * FA_STAGES * 64) * (D + 8) * 2 bytes (AttentionLowering).
#define FA_LEAN_KERNEL(KIND, PIPE, D, WARPS, MT, MINB) \
extern "C" __global__ void __launch_bounds__(WARPS * 32, MINB) flash_##KIND##_d##D##_w##WARPS##_m##MT( \
        const act* q, const act* k, const act* v, act* out, int lq, int lk, int heads, float scale_log2, int causal, \
        int ldq, int ldkv, int ldo) { \
    flash_lean_impl<D, WARPS, MT, PIPE>(q, k, v, out, lq, lk, heads, scale_log2, causal, ldq, ldkv, ldo); }
#endif // ACT_DTYPE != 0
