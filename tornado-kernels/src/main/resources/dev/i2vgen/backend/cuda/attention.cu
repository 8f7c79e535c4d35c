// Fused multi-head attention (flash-attention style): softmax(scale * q k^T [+ causal mask]) v with an
// online softmax, so the Lq x Lk score matrix is never stored. fp32 arithmetic whatever the storage type.
//
// Layout: q[B, Lq, H*dk], k[B, Lk, H*dk], v[B, Lk, H*dv], out[B, Lq, H*dv] (heads interleaved in the last axis).
// Rows may be strided: ldq, ldk, ldv, ldo are the elements between consecutive rows (H*dk / H*dv when dense;
// 3*H*d when q, k, v are column blocks of one fused projection output [B*L, 3*H*d], GemmLowering / QkvFusion).
// Block = ATT_WARPS warps, one query row per warp; the block shares each tile of 32 keys through shared
// memory; lane j scores key j of the tile, then every lane accumulates its slice of dv (lane, lane+32, ...).

#define ATT_WARPS 8
#define ATT_TILE 32
#define ATT_MAX_DV 512
#define ATT_SLOTS (ATT_MAX_DV / 32)

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
attention(const act* q, const act* k, const act* v, act* out, int lq, int lk, int heads, int dk, int dv,
          float scale, int causal, int batch, int ldq, int ldk, int ldv, int ldo) {
    extern __shared__ float smem[];
    float* ks = smem;                              // [ATT_TILE][dk + 1] (padded: lane-wise rows hit distinct banks)
    float* vs = ks + ATT_TILE * (dk + 1);          // [ATT_TILE][dv]
    float* qs = vs + ATT_TILE * dv;                // [ATT_WARPS][dk]
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    // (batch, head) over y and z: B*H reaches 140,800 in the temporal attention, over gridDim.y's 65,535
    const int bh = blockIdx.z * gridDim.y + blockIdx.y, b = bh / heads, h = bh - b * heads;
    if (b >= batch) return;   // whole block: before any barrier
    const int qi = blockIdx.x * ATT_WARPS + warp;
    const bool active = qi < lq;

    if (active) for (int d = lane; d < dk; d += 32) qs[warp * dk + d] = ld(q, ((i64) b * lq + qi) * ldq + (i64) h * dk + d) * scale;

    float acc[ATT_SLOTS];
#pragma unroll
    for (int t = 0; t < ATT_SLOTS; t++) acc[t] = 0.f;
    float m = __int_as_float(0xff800000), l = 0.f;

    int last_q = min(lq, (int) (blockIdx.x + 1) * ATT_WARPS) - 1;
    int kend = causal ? min(lk, last_q + 1) : lk;
    for (int k0 = 0; k0 < kend; k0 += ATT_TILE) {
        __syncthreads();   // previous tile fully consumed (and qs written before the first use)
        int tile = min(ATT_TILE, lk - k0);
        for (int e = threadIdx.x; e < tile * dk; e += blockDim.x) {
            int j = e / dk, d = e - j * dk;
            ks[j * (dk + 1) + d] = ld(k, ((i64) b * lk + k0 + j) * ldk + (i64) h * dk + d);
        }
        for (int e = threadIdx.x; e < tile * dv; e += blockDim.x) {
            int j = e / dv, d = e - j * dv;
            vs[j * dv + d] = ld(v, ((i64) b * lk + k0 + j) * ldv + (i64) h * dv + d);
        }
        __syncthreads();
        if (!active) continue;
        int key = k0 + lane;
        bool valid = lane < tile && (!causal || key <= qi);
        float s = __int_as_float(0xff800000);
        if (valid) {
            float dot = 0.f;
            const float* kr = ks + lane * (dk + 1);
            const float* qr = qs + warp * dk;
            for (int d = 0; d < dk; d++) dot = fmaf(qr[d], kr[d], dot);
            s = dot;
        }
        float tmax = s;
        for (int o = 16; o > 0; o >>= 1) tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, o));
        if (tmax == __int_as_float(0xff800000)) continue;   // every key of this tile masked for this query
        float mnew = fmaxf(m, tmax);
        float p = valid ? expf(s - mnew) : 0.f;
        float corr = expf(m - mnew);                       // 0 on the first tile (m = -inf)
        float psum = p;
        for (int o = 16; o > 0; o >>= 1) psum += __shfl_xor_sync(0xffffffffu, psum, o);
        l = l * corr + psum;
        m = mnew;
#pragma unroll
        for (int t = 0; t < ATT_SLOTS; t++) acc[t] *= corr;
        for (int j = 0; j < tile; j++) {
            float pj = __shfl_sync(0xffffffffu, p, j);
            const float* vr = vs + j * dv;
#pragma unroll
            for (int t = 0; t < ATT_SLOTS; t++) {
                int d = lane + 32 * t;
                if (d < dv) acc[t] = fmaf(pj, vr[d], acc[t]);
            }
        }
    }
    if (!active) return;
    float inv = 1.f / l;
    i64 obase = ((i64) b * lq + qi) * ldo + (i64) h * dv;
#pragma unroll
    for (int t = 0; t < ATT_SLOTS; t++) {
        int d = lane + 32 * t;
        if (d < dv) st(out, obase + d, acc[t] * inv);
    }
}

// Heads of at most ATT_SMALL_D values (I2VGen-XL's image-latent temporal encoder: 2 heads of 4 over 16 frames):
// one thread per (batch, head, query) with q and the output row in registers and an online softmax over the keys,
// which the 16 queries of a (batch, head) read together (consecutive threads). The kernel above gives such heads a
// warp per query and stages every 32-key tile through shared memory: ~1.9 ms for 0.5 GFLOP at that shape.
#define ATT_SMALL_D 16
extern "C" __global__ void __launch_bounds__(256)
attention_small(const act* q, const act* k, const act* v, act* out, int lq, int lk, int heads, int dk, int dv,
                float scale, int causal, i64 total, int ldq, int ldk, int ldv, int ldo) {
    const i64 t = (i64) blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= total) return;
    const int qi = (int) (t % lq);
    const i64 bh = t / lq, b = bh / heads;
    const int h = (int) (bh - b * heads);
    const act* qr = q + (b * lq + qi) * ldq + (i64) h * dk;
    float qv[ATT_SMALL_D], acc[ATT_SMALL_D];
#pragma unroll
    for (int d = 0; d < ATT_SMALL_D; d++) {
        qv[d] = d < dk ? ld(qr, d) * scale : 0.f;
        acc[d] = 0.f;
    }
    float m = __int_as_float(0xff800000), l = 0.f;
    const int kend = causal ? min(lk, qi + 1) : lk;
    for (int j = 0; j < kend; j++) {
        const act* kr = k + (b * lk + j) * ldk + (i64) h * dk;
        float s = 0.f;
#pragma unroll
        for (int d = 0; d < ATT_SMALL_D; d++) if (d < dk) s = fmaf(qv[d], ld(kr, d), s);
        const float mnew = fmaxf(m, s), corr = expf(m - mnew), p = expf(s - mnew);   // corr = 0 at the first key
        l = l * corr + p;
        m = mnew;
        const act* vr = v + (b * lk + j) * ldv + (i64) h * dv;
#pragma unroll
        for (int d = 0; d < ATT_SMALL_D; d++) if (d < dv) acc[d] = fmaf(p, ld(vr, d), acc[d] * corr);
    }
    const float inv = 1.f / l;
    act* o = out + (b * lq + qi) * ldo + (i64) h * dv;
#pragma unroll
    for (int d = 0; d < ATT_SMALL_D; d++) if (d < dv) st(o, d, acc[d] * inv);
}

#include "attention_flash.cuh"

#if ACT_DTYPE != 0
// The kernels the default settings launch: w1_k16 for short query sequences (every variant), the v3 "lean" ones
// (the default variant off Hopper and the fallback of the Hopper kernels). The others: attention_variants.cu.
FA_KERNEL(64, 1, 16)
FA_KERNEL(80, 1, 16)
FA_KERNEL(128, 1, 16)
FA_LEAN_KERNEL(lean, false, 64, 4, 1, 2)
FA_LEAN_KERNEL(lean, false, 64, 8, 1, 2)
FA_LEAN_KERNEL(lean, false, 64, 4, 2, 2)
FA_LEAN_KERNEL(lean, false, 64, 8, 2, 1)
FA_LEAN_KERNEL(lean, false, 80, 8, 1, 1)
FA_LEAN_KERNEL(lean, false, 128, 8, 1, 1)
#endif
