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
// Shared tiles use the 128-byte swizzle the descriptors declare: 16-byte chunk c of 128-byte row r is stored
// at chunk c ^ (r & 7) (bits 4-6 of the address XOR bits 7-9), every tile 1024-byte aligned.
#if ACT_DTYPE != 0

#if ACT_DTYPE == 1
#define H9_T "f16"
#else
#define H9_T "bf16"
#endif
#define H9_STAGES 4
#define H9_ROWB 128      // bytes of one 64-wide row (one swizzle row)

__device__ __forceinline__ void h9_cp_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N> __device__ __forceinline__ void h9_cp_wait() { asm volatile("cp.async.wait_group %0;" :: "n"(N) : "memory"); }
// cp.async writes are generic-proxy writes; wgmma reads shared memory through the async proxy
__device__ __forceinline__ void h9_proxy_fence() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

// mbarriers (MB kernels): per stage, "full" (every warp published its copies of the tile) and "empty" (every warp's
// wgmmas finished reading it); a wait names the parity of the phase it waits for (use n of a stage: parity n & 1)
__device__ __forceinline__ void h9_bar_init(unsigned bar, unsigned count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" :: "r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void h9_bar_arrive(unsigned bar) {   // release: this warp's prior writes / reads are done
    asm volatile("{ .reg .b64 st; mbarrier.arrive.shared::cta.b64 st, [%0]; }" :: "r"(bar) : "memory");
}
__device__ __forceinline__ void h9_bar_wait(unsigned bar, unsigned parity) {   // acquire
    unsigned done;
    do {
        asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                     : "=r"(done) : "r"(bar), "r"(parity) : "memory");
    } while (!done);
    __syncwarp();   // wgmma (.aligned) next: the warp converged
}

__device__ __forceinline__ void h9_mma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void h9_mma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int N> __device__ __forceinline__ void h9_mma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;" :: "n"(N) : "memory"); }
// Pins accumulator registers at this point: arithmetic on them cannot move above the wgmma wait before it.
// Also used before wgmma.fence: values computed for a wgmma cannot sink below the fence (ptxas would add another).
template <int N> __device__ __forceinline__ void h9_pin(float (&r)[N]) {
#pragma unroll
    for (int i = 0; i < N; i++) asm volatile("" : "+f"(r[i]) :: "memory");
}
template <int N> __device__ __forceinline__ void h9_pin(unsigned (&r)[N][4]) {
#pragma unroll
    for (int i = 0; i < N; i++) asm volatile("" : "+r"(r[i][0]), "+r"(r[i][1]), "+r"(r[i][2]), "+r"(r[i][3]) :: "memory");
}

// Shared-memory matrix descriptor, 128-byte swizzle: start address, leading / stride byte offsets (all >> 4),
// swizzle mode 1 in bits 62-63, base offset 0 (every tile starts 1024-byte aligned).
__device__ __forceinline__ unsigned long long h9_desc(unsigned addr, unsigned lbo, unsigned sbo) {
    return (unsigned long long) ((addr & 0x3FFFFu) >> 4) | ((unsigned long long) (lbo >> 4) << 16)
           | ((unsigned long long) (sbo >> 4) << 32) | (1ull << 62);
}

#define H9_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])

// d (+)= A B, m64n128k16, A and B from shared memory (both K-major), accumulate = 0 overwrites d
__device__ __forceinline__ void h9_mma_ss_n128(float (&d)[64], unsigned long long da, unsigned long long db, int accumulate) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." H9_T "." H9_T " "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
                 "%64, %65, p, 1, 1, 0, 0;\n}"
                 : H9_D8(0), H9_D8(8), H9_D8(16), H9_D8(24), H9_D8(32), H9_D8(40), H9_D8(48), H9_D8(56)
                 : "l"(da), "l"(db), "r"(accumulate));
}
// the same with N = 64 (the 64-key tiles)
__device__ __forceinline__ void h9_mma_ss_n64(float (&d)[32], unsigned long long da, unsigned long long db, int accumulate) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32." H9_T "." H9_T " "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "%32, %33, p, 1, 1, 0, 0;\n}"
                 : H9_D8(0), H9_D8(8), H9_D8(16), H9_D8(24)
                 : "l"(da), "l"(db), "r"(accumulate));
}
// d += A B, m64n64k16, A (16 x 16 per warp) from registers, B from shared memory N-major (imm-trans-b = 1)
__device__ __forceinline__ void h9_mma_rs_n64(float (&d)[32], const unsigned (&a)[4], unsigned long long db) {
    asm volatile("wgmma.mma_async.sync.aligned.m64n64k16.f32." H9_T "." H9_T " "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "{%32, %33, %34, %35}, %36, 1, 1, 1, 1;"
                 : H9_D8(0), H9_D8(8), H9_D8(16), H9_D8(24)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
}

__device__ __forceinline__ float h9_ex2(float x) {   // 2^x, denormal results flushed to 0
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
// two floats to one register of two 16-bit values, lo in the low half (the element with the lower index)
__device__ __forceinline__ unsigned h9_pack(float lo, float hi) {
    unsigned r;
    asm("cvt.rn." H9_T "x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// S = Q K^T for one tile: four k-steps of 16 dims, each 32 bytes further along the (swizzled) 128-byte rows
template <int KT>
__device__ __forceinline__ void h9_issue_qk(float (&s)[KT / 2], unsigned q_tile, unsigned k_tile) {
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
        const unsigned long long da = h9_desc(q_tile + kk * 32, 16, 1024), db = h9_desc(k_tile + kk * 32, 16, 1024);
        if constexpr (KT == 128) h9_mma_ss_n128(s, da, db, kk);
        else h9_mma_ss_n64(s, da, db, kk);
    }
}
// O += P V for one tile: KT / 16 k-steps of 16 keys = 16 rows of 128 bytes (2048 bytes) each. V is N-major: the
// 8-key row groups are 1024 bytes apart; with N = 64 one swizzle atom spans all dims, so the other offset is unused
// (both set to 1024, whichever of the two the hardware reads as the K-group stride).
template <int KT>
__device__ __forceinline__ void h9_issue_pv(float (&o)[32], const unsigned (&p)[KT / 16][4], unsigned v_tile) {
#pragma unroll
    for (int kk = 0; kk < KT / 16; kk++) h9_mma_rs_n64(o, p[kk], h9_desc(v_tile + kk * 2048, 1024, 1024));
}

// Row g of this thread's accumulators: elements 4i, 4i + 1 of column block i; row g + 8: elements 4i + 2, 4i + 3.
// Masks keys >= lk, moves the running max (m, scaled base-2 units), returns the correction of the old O and l,
// and leaves P = 2^(s * scale_log2 - m) in s (fp32).
template <int KT>
__device__ __forceinline__ void h9_softmax(float (&s)[KT / 2], int key0, int lk, int t, float scale_log2,
                                           float (&m)[2], float (&l)[2], float (&corr)[2]) {
    const float NEG_INF = __int_as_float(0xff800000);
    if (key0 + KT > lk) {   // uniform: only the last tile
#pragma unroll
        for (int i = 0; i < KT / 8; i++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                if (key0 + i * 8 + 2 * t + (e & 1) >= lk) s[4 * i + e] = NEG_INF;
    }
#pragma unroll
    for (int r = 0; r < 2; r++) {
        float a[4];   // four independent max chains (a longer tree put its array on the stack)
#pragma unroll
        for (int i = 0; i < 4; i++) a[i] = fmaxf(s[4 * i + 2 * r], s[4 * i + 2 * r + 1]);
#pragma unroll
        for (int i = 4; i < KT / 8; i++) a[i & 3] = fmaxf(a[i & 3], fmaxf(s[4 * i + 2 * r], s[4 * i + 2 * r + 1]));
        const float y = fmaxf(fmaxf(a[0], a[1]), fmaxf(a[2], a[3]));
        float x = fmaxf(y, __shfl_xor_sync(0xffffffffu, y, 1));
        x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
        // key0 < lk: at least one key of the tile is visible, so x is finite (scale > 0, host-checked)
        const float mnew = fmaxf(m[r], x * scale_log2);
        corr[r] = h9_ex2(m[r] - mnew);   // 0 on the first tile (m = -inf), O and l are 0 then
        m[r] = mnew;
        float sum0 = 0.f, sum1 = 0.f;
#pragma unroll
        for (int i = 0; i < KT / 8; i++) {
            const float p0 = h9_ex2(fmaf(s[4 * i + 2 * r], scale_log2, -mnew));
            const float p1 = h9_ex2(fmaf(s[4 * i + 2 * r + 1], scale_log2, -mnew));
            s[4 * i + 2 * r] = p0;
            s[4 * i + 2 * r + 1] = p1;
            sum0 += p0;
            sum1 += p1;
        }
        l[r] = l[r] * corr[r] + (sum0 + sum1);   // this thread's quarter of the row; summed over the quad at the end
    }
}

// P (fp32 in the S accumulator layout) to the A-register layout of m64nNk16: k-step kk covers column blocks 2kk, 2kk + 1
template <int KT>
__device__ __forceinline__ void h9_pack_p(const float (&s)[KT / 2], unsigned (&p)[KT / 16][4]) {
#pragma unroll
    for (int kk = 0; kk < KT / 16; kk++) {
        p[kk][0] = h9_pack(s[8 * kk + 0], s[8 * kk + 1]);   // row g, keys 16kk + 2t, +1
        p[kk][1] = h9_pack(s[8 * kk + 2], s[8 * kk + 3]);   // row g + 8
        p[kk][2] = h9_pack(s[8 * kk + 4], s[8 * kk + 5]);   // row g, keys 16kk + 8 + 2t, +1
        p[kk][3] = h9_pack(s[8 * kk + 6], s[8 * kk + 7]);   // row g + 8
    }
}

__device__ __forceinline__ void h9_rescale(float (&o)[32], const float (&corr)[2]) {
#pragma unroll
    for (int i = 0; i < 8; i++) {
        o[4 * i] *= corr[0];
        o[4 * i + 1] *= corr[0];
        o[4 * i + 2] *= corr[1];
        o[4 * i + 3] *= corr[1];
    }
}

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
