// Flash attention for Hopper (sm_90a only: wgmma), head width 64, non-causal, fp16/bf16 storage, fp32 accumulation
// and online softmax in base 2 (scale * log2(e) folded into one FFMA per score). Compiled by NVRTC for compute_90a
// (KernelCache); AttentionLowering picks it (flashVariant v5*) on compute capability 9.0 only.
//
// Layout: row r of sequence b is at base + (b * L + r) * ld + head * 64 for q, k, v and out, each with its own row
// stride ld in elements (L = lq for q/out, lk for k/v); needs ld % 8 == 0 and 16-byte aligned bases (host checks).
// 1-D grid: blockIdx.x = (b * heads + head) * qblocks + query block.
//
// Block = NWG warpgroups, each owning 64 query rows (Q tile in shared memory, read by wgmma from there). Per key tile
// of KT keys, a warpgroup issues S = Q K^T (wgmma, A and B from shared memory) and, in the same breath, O += P V of
// the previous tile (A = P from registers, B = V from shared memory, transposed: V is stored [keys][dims]); it waits
// for S only, does the softmax of this tile while its P V runs on the tensor cores, then waits for P V and packs the
// new P (FA3's intra-warpgroup overlap). Other warpgroups interleave on the same SM.
// K/V tiles: cp.async by every thread into a ring of H9_STAGES (tile j + 2 is loaded while tile j is used); one
// __syncthreads per tile, or (_mb kernels) per-stage mbarriers that let the warpgroups drift apart (see h9_flash).
// Shared tiles use the 128-byte swizzle the descriptors declare (flash_sm90.cuh: the helpers v5 and v6 share).
#if ACT_DTYPE != 0
#include "flash_sm90.cuh"

#define H9_STAGES 4

// MB = false: one __syncthreads per tile keeps the warpgroups of a block in lockstep. MB = true: mbarriers instead;
// a warpgroup then waits only for what it reads (every thread's copies of tile j, published one iteration after they
// were issued; every warp's release of the stage it refills, one iteration after its last use), so the warpgroups can
// drift up to an iteration apart and one's softmax overlaps another's wgmmas.
// LATE (MB only): the publishing of tile j + 1 moves after the wgmma issue of iteration j, under the S latency (this
// thread's copies still in flight then stall less; moving the refill there too spilled at k128), and O is rescaled
// only when some row's max moved (corr != 1 in the warp; after the first tiles it rarely does).
template <int NWG, int KT, bool MB, bool LATE>
__device__ __forceinline__ void h9_flash(const act* __restrict__ q, const act* __restrict__ k, const act* __restrict__ v,
        act* __restrict__ out, int lq, int lk, int heads, int ldq, int ldk, int ldv, int ldo, float scale_log2) {
    constexpr int NT = NWG * 128, BM = NWG * 64, RP = NT / 8;   // threads; query rows; rows per cp.async pass
    constexpr unsigned QB = BM * H9_ROWB, TB = KT * H9_ROWB, STB = 2 * TB;   // Q bytes, K (or V) tile, K + V stage
    extern __shared__ unsigned char h9_sm[];
    // [Q][stage 0: K, V][stage 1: K, V]...[MB: full[STAGES], empty[STAGES]]; the base rounded up to 1024 (the host
    // adds 1024 bytes of slack)
    const unsigned sq = (smem_u32(h9_sm) + 1023u) & ~1023u, skv = sq + QB;
    const unsigned full = skv + H9_STAGES * STB, empty = full + 8 * H9_STAGES;   // mbarriers (MB only)
    const int tid = threadIdx.x, wg = tid >> 7, wq = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const int qblocks = (lq + BM - 1) / BM;
    const int bh = blockIdx.x / qblocks, q0 = (blockIdx.x - bh * qblocks) * BM;
    const int b = bh / heads, h = bh - b * heads;
    const act* qb = q + (i64) b * lq * ldq + (i64) h * 64;
    const act* kb = k + (i64) b * lk * ldk + (i64) h * 64;
    const act* vb = v + (i64) b * lk * ldv + (i64) h * 64;

    // this thread copies 16-byte column cc of rows r0, r0 + RP, ... (NT % 8 == 0: the column never changes)
    const int cc = tid & 7, r0 = tid >> 3;
    for (int r = r0; r < BM; r += RP) {   // Q rows beyond lq are zero-filled (computed, never stored)
        const bool ok = q0 + r < lq;
        cp_async16(sq + r * H9_ROWB + ((cc ^ (r & 7)) << 4), ok ? qb + (i64) (q0 + r) * ldq + cc * 8 : qb, ok);
    }
    // K/V rows beyond lk are zero-filled: their scores are masked to -inf, and P = 0 times V = 0 adds nothing
    auto load_kv = [&](int tile, int stage) {
        const unsigned dk = skv + stage * STB, dv = dk + TB;
#pragma unroll
        for (int p = 0; p < (KT + RP - 1) / RP; p++) {
            const int r = r0 + p * RP;
            if (KT % RP != 0 && r >= KT) break;
            const int key = tile * KT + r;
            const bool ok = key < lk;
            const unsigned off = r * H9_ROWB + ((cc ^ (r & 7)) << 4);
            cp_async16(dk + off, ok ? kb + (i64) key * ldk + cc * 8 : kb, ok);
            cp_async16(dv + off, ok ? vb + (i64) key * ldv + cc * 8 : vb, ok);
        }
    };
    const int ntiles = (lk + KT - 1) / KT;   // >= 1 (host-checked lk >= 1)
    if (MB) {
        if (tid < H9_STAGES) {
            h9_bar_init(full + 8 * tid, NT / 32);
            h9_bar_init(empty + 8 * tid, NT / 32);
        }
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        __syncthreads();   // barriers initialised before any use
    }
    load_kv(0, 0);
    h9_cp_commit();   // group: Q and tile 0
    if (ntiles > 1) load_kv(1, 1);
    h9_cp_commit();   // group: tile 1 (empty if there is none; MB counts groups per iteration)

    const unsigned q_tile = sq + wg * 64 * H9_ROWB;   // this warpgroup's 64 query rows
    float s[KT / 2], o[32];
    unsigned p[KT / 16][4];
    float m[2] = {__int_as_float(0xff800000), __int_as_float(0xff800000)}, l[2] = {0.f, 0.f}, corr[2];
#pragma unroll
    for (int i = 0; i < 32; i++) o[i] = 0.f;

    // this thread's copies of the tile whose group is the second newest have landed: make them visible to the
    // async proxy (wgmma) and, MB, publish them for this warp
    auto publish = [&](int tile) {
        h9_cp_wait<1>();
        h9_proxy_fence();
        __syncwarp();
        if (lane == 0) h9_bar_arrive(full + 8 * (tile % H9_STAGES));
    };
    // Tile j is ready to read. Barrier version: only the group of tile j + 1 may still be in flight; the barrier also
    // means every thread finished iteration j - 1, whose wgmmas were the last readers of stage (j + 2) % STAGES, so
    // tile j + 2 may be loaded into it. MB version: tile j + 2 waits for every warp's release of tile j - 2 (end of
    // its iteration j - 1), tile j + 1 is published, then tile j is awaited.
    auto late_publish = [&](int j) { if (MB && LATE && j + 1 < ntiles) publish(j + 1); };
    auto tile_ready = [&](int j) {
        if (MB) {
            if (j + 2 < ntiles) {
                if (j >= 2) h9_bar_wait(empty + 8 * ((j + 2) % H9_STAGES), ((j - 2) / H9_STAGES) & 1);
                load_kv(j + 2, (j + 2) % H9_STAGES);
            }
            h9_cp_commit();   // group of tile j + 2 (possibly empty)
            if (!LATE && j + 1 < ntiles) publish(j + 1);
            h9_bar_wait(full + 8 * (j % H9_STAGES), (j / H9_STAGES) & 1);
        } else {
            if (j + 1 < ntiles) h9_cp_wait<1>(); else h9_cp_wait<0>();
            h9_proxy_fence();
            __syncthreads();
            if (j + 2 < ntiles) load_kv(j + 2, (j + 2) % H9_STAGES);
            h9_cp_commit();
        }
    };

    if (MB) publish(0);   // Q and tile 0 (groups: Q + tile 0, tile 1)
    tile_ready(0);
    h9_mma_fence();
    h9_issue_qk<KT>(s, q_tile, skv);
    h9_mma_commit();
    late_publish(0);
    h9_mma_wait<0>();
    h9_pin(s);
    h9_softmax<KT>(s, 0, lk, t, scale_log2, m, l, corr);
    h9_pack_p<KT>(s, p);
    h9_pin(o);
    for (int j = 1; j < ntiles; j++) {
        tile_ready(j);
        // O to the max of tile j - 1, which P(j - 1) is relative to (LATE: skipped where no row's max moved)
        if (!LATE || __any_sync(0xffffffffu, corr[0] != 1.f || corr[1] != 1.f)) h9_rescale(o, corr);
        h9_pin(o);
        h9_pin(p);
        h9_mma_fence();
        h9_issue_qk<KT>(s, q_tile, skv + (j % H9_STAGES) * STB);
        h9_mma_commit();
        h9_issue_pv<KT>(o, p, skv + ((j - 1) % H9_STAGES) * STB + TB);
        h9_mma_commit();
        late_publish(j);
        h9_mma_wait<1>();   // S(j) done; P(j - 1) V(j - 1) may still run
        h9_pin(s);
        h9_softmax<KT>(s, j * KT, lk, t, scale_log2, m, l, corr);
        h9_mma_wait<0>();   // P(j - 1) registers free again
        h9_pin(o);
        h9_pin(s);          // the packing of P(j) stays below the wait
        if (MB && lane == 0) h9_bar_arrive(empty + 8 * ((j - 1) % H9_STAGES));   // this warp is done with tile j - 1
        h9_pack_p<KT>(s, p);
    }
    h9_rescale(o, corr);
    h9_pin(o);
    h9_pin(p);
    h9_mma_fence();
    h9_issue_pv<KT>(o, p, skv + ((ntiles - 1) % H9_STAGES) * STB + TB);
    h9_mma_commit();
    h9_mma_wait<0>();
    h9_pin(o);

#pragma unroll
    for (int r = 0; r < 2; r++) {
        float sum = l[r] + __shfl_xor_sync(0xffffffffu, l[r], 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const int qi = q0 + wg * 64 + wq * 16 + g + r * 8;
        if (qi >= lq) continue;
        const float inv = 1.f / sum;
        unsigned* dst = (unsigned*) (out + ((i64) b * lq + qi) * ldo + (i64) h * 64 + 2 * t);
#pragma unroll
        for (int i = 0; i < 8; i++) dst[i * 4] = h9_pack(o[4 * i + 2 * r] * inv, o[4 * i + 2 * r + 1] * inv);
    }
}

// flash_sm90_d64_w{warpgroups}_k{key tile}[_mb|_mb2]; MINB blocks per SM bound the registers (3 warpgroups: 168; the
// k64 kernels of 2 warpgroups run two blocks of 83 KB per SM, at most 128 registers: two independent blocks).
// _mb: mbarriers instead of a barrier per tile; _mb2: also LATE. Measured on the H100 (notes section 1c): w4_k64_mb2
// is the best for long sequences, w2_k64_mb2 for short ones; the others stay for A/B (w2_k128, w3_k64, w4_k64 and
// a 6-stage ring were no faster and are not built).
// Dynamic shared memory: 1024 + (64 * NWG + 2 * H9_STAGES * KT) * 128 + 16 * H9_STAGES bytes (Sm90FlashAttention).
#define H9_KERNEL(NAME, NWG, KT, MB, LATE, MINB) \
extern "C" __global__ void __launch_bounds__(NWG * 128, MINB) NAME( \
        const act* q, const act* k, const act* v, act* out, int lq, int lk, int heads, \
        int ldq, int ldk, int ldv, int ldo, float scale_log2) { \
    h9_flash<NWG, KT, MB, LATE>(q, k, v, out, lq, lk, heads, ldq, ldk, ldv, ldo, scale_log2); }
H9_KERNEL(flash_sm90_d64_w3_k128, 3, 128, false, false, 1)
H9_KERNEL(flash_sm90_d64_w2_k64, 2, 64, false, false, 2)
H9_KERNEL(flash_sm90_d64_w3_k128_mb, 3, 128, true, false, 1)
H9_KERNEL(flash_sm90_d64_w4_k64_mb, 4, 64, true, false, 1)
H9_KERNEL(flash_sm90_d64_w3_k128_mb2, 3, 128, true, true, 1)
H9_KERNEL(flash_sm90_d64_w4_k64_mb2, 4, 64, true, true, 1)
H9_KERNEL(flash_sm90_d64_w2_k64_mb2, 2, 64, true, true, 2)

#endif
