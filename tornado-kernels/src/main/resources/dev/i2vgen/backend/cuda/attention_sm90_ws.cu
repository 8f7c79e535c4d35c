// Flash attention v6 for Hopper (sm_90a): FA3's warp-specialised structure around the v5 building blocks of
// flash_sm90.cuh (head width 64, non-causal, fp16/bf16, fp32 online softmax in base 2). AttentionLowering picks it
// only for flashVariant v6* (Sm90FlashAttention); notes: docs/cuda-performance-notes.md, section 1d.
//
// Arguments: v5's (q, k, v, out with their own row strides; row r of sequence b at base + (b * L + r) * ld + head * 64;
// 1-D grid, blockIdx.x = (b * heads + head) * qblocks + query block), then three TMA tensor maps the host made for q,
// k and v with cuTensorMapEncodeTiled: 4-D {64 dims, heads, L rows, batch}, box {64, 1, rows, 1}, SWIZZLE_128B (the
// layout the wgmma descriptors declare), zero fill out of bounds. Only out and the maps are read here; q, k, v and
// their strides stay in the list so both generations launch alike.
//
// Block = NWG consumer warpgroups (64 query rows each) + one producer warpgroup (the last). The producer gives its
// registers away (setmaxnreg.dec) and one of its threads issues every copy: Q once, then K and V tiles by TMA into
// rings of STAGES, each slot with a "full" mbarrier (arrive.expect_tx + the copy's complete_tx) and an "empty" one
// (one arrive per consumer warp once its wgmmas have read the slot). K runs a tile ahead of V: K(j + 1) is needed
// while V(j - 1) is. Consumers take the registers (setmaxnreg.inc) for two S accumulators: per key tile j they issue
// P(j-1) V(j-1) and S(j+1) = Q K(j+1)^T, then do softmax(j) while both run on the tensor cores (S(j) came with the
// previous tile's group), then wait for the group and pack P(j) (v5 and FA3 overlap softmax(j) with P V only).
// PINGPONG: the consumer warpgroups issue their wgmmas in turn (named barriers 1..NWG), so each one's softmax runs
// under the others' GEMMs.
#if ACT_DTYPE != 0
#include "flash_sm90.cuh"

// A CUtensorMap (128 opaque bytes) passed by value: TMA reads it through the parameter's generic address
struct alignas(128) h6_tensor_map { unsigned long long opaque[16]; };

// Acquire: waits for the completion of the phase with this parity (a fresh barrier counts parity 1 as complete). A
// wait of more than 10 s means a protocol bug: it traps (the launch fails) rather than hang the GPU. The loop is one
// asm block: spelled in C++, its control flow made ptxas serialise the wgmmas around it and spill.
__device__ __forceinline__ void h6_wait(unsigned bar, unsigned parity) {
    asm volatile("{\n"
                 ".reg .pred ready;\n"
                 ".reg .u64 t0, t;\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 ready, [%0], %1;\n"
                 "@ready bra H6_DONE_%=;\n"
                 "mov.u64 t0, %%globaltimer;\n"
                 "H6_WAIT_%=:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 ready, [%0], %1;\n"
                 "@ready bra H6_DONE_%=;\n"
                 "mov.u64 t, %%globaltimer;\n"
                 "sub.u64 t, t, t0;\n"
                 "setp.lt.u64 ready, t, 10000000000;\n"
                 "@ready bra H6_WAIT_%=;\n"
                 "trap;\n"
                 "H6_DONE_%=:\n"
                 "}" :: "r"(bar), "r"(parity) : "memory");
}
// Producer: one arrival that also expects `bytes` of copies to complete on the barrier before its phase can end
__device__ __forceinline__ void h6_arrive_expect(unsigned bar, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" :: "r"(bar), "r"(bytes) : "memory");
}
// One TMA box {64, 1, rows, 1} at (0, head, row, batch) into 1024-aligned shared memory, completing on bar
__device__ __forceinline__ void h6_tma_load(unsigned dst, const h6_tensor_map* map, int head, int row, int batch, unsigned bar) {
    asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%2, %3, %4, %5}], [%6];"
                 :: "r"(dst), "l"(map), "r"(0), "r"(head), "r"(row), "r"(batch), "r"(bar) : "memory");
}
__device__ __forceinline__ void h6_prefetch_map(const h6_tensor_map* map) {
    asm volatile("prefetch.tensormap [%0];" :: "l"(map) : "memory");
}
// Named barriers 1..NWG (0 is __syncthreads); both take the count of threads of the two warpgroups involved
__device__ __forceinline__ void h6_turn_wait(int id) { asm volatile("bar.sync %0, 256;" :: "r"(id) : "memory"); }
__device__ __forceinline__ void h6_turn_pass(int id) { asm volatile("bar.arrive %0, 256;" :: "r"(id) : "memory"); }

// The shared-memory plan of a block, 1024-aligned tiles first: Q (NWG * 64 rows), STAGES K tiles, STAGES V tiles, then
// the mbarriers: q_full, k_full[STAGES], k_empty[STAGES], v_full[STAGES], v_empty[STAGES], done.
// Dynamic shared memory: 1024 + (64 * NWG + 2 * STAGES * KT) * 128 + 8 * (4 * STAGES + 2) bytes (Sm90FlashAttention).
template <int NWG, int KT, int STAGES>
struct h6_smem {
    unsigned q, k, v, q_full, k_full, k_empty, v_full, v_empty, done;
    __device__ __forceinline__ explicit h6_smem(unsigned base) {
        q = (base + 1023u) & ~1023u;
        k = q + NWG * 64 * H9_ROWB;
        v = k + STAGES * KT * H9_ROWB;
        q_full = v + STAGES * KT * H9_ROWB;
        k_full = q_full + 8;
        k_empty = k_full + 8 * STAGES;
        v_full = k_empty + 8 * STAGES;
        v_empty = v_full + 8 * STAGES;
        done = v_empty + 8 * STAGES;
    }
};

// The producer thread: Q, then K(0), K(1), V(0), K(2), V(1), ..., V(n - 1); a slot is refilled once every consumer
// warp released it (round r of a slot waits for phase r - 1 of its empty barrier: parity (r & 1) ^ 1, which a fresh
// barrier passes in round 0). Then it waits until the consumers are done: a consumer stuck anywhere traps there.
template <int NWG, int KT, int STAGES>
__device__ __forceinline__ void h6_produce(const h6_smem<NWG, KT, STAGES>& sm, const h6_tensor_map* qmap,
        const h6_tensor_map* kmap, const h6_tensor_map* vmap, int q0, int head, int batch, int ntiles) {
    constexpr unsigned TB = KT * H9_ROWB;
    h6_prefetch_map(qmap);
    h6_prefetch_map(kmap);
    h6_prefetch_map(vmap);
    h6_arrive_expect(sm.q_full, NWG * 64 * H9_ROWB);
    h6_tma_load(sm.q, qmap, head, q0, batch, sm.q_full);
    int ks = 0, vs = 0;                 // slots of the next K and V tiles
    unsigned kround = 0, vround = 0;    // their round parities
    for (int j = 0; j <= ntiles; j++) {
        if (j < ntiles) {
            h6_wait(sm.k_empty + 8 * ks, kround ^ 1);
            h6_arrive_expect(sm.k_full + 8 * ks, TB);
            h6_tma_load(sm.k + ks * TB, kmap, head, j * KT, batch, sm.k_full + 8 * ks);
            if (++ks == STAGES) { ks = 0; kround ^= 1; }
        }
        if (j >= 1) {
            h6_wait(sm.v_empty + 8 * vs, vround ^ 1);
            h6_arrive_expect(sm.v_full + 8 * vs, TB);
            h6_tma_load(sm.v + vs * TB, vmap, head, (j - 1) * KT, batch, sm.v_full + 8 * vs);
            if (++vs == STAGES) { vs = 0; vround ^= 1; }
        }
    }
    h6_wait(sm.done, 0);
}

// What one consumer warpgroup carries from key tile to key tile
template <int KT>
struct h6_rows {
    float o[32];              // O of this thread's rows (relative to the running max)
    unsigned p[KT / 16][4];   // P of the previous tile, packed for the P V wgmma
    float m[2], l[2], corr[2];
};

// Key tile j of one consumer warpgroup; S(j) is complete in sc, P(j - 1) in r.p, O scaled to max m(j - 1).
// Issues P(j-1) V(j-1) (PV: j >= 1) and S(j+1) = Q K(j+1)^T into sn (S: j + 1 < ntiles) in one wgmma group, does
// softmax(j) while they run, then drains the group (wait 0) and packs P(j). Nothing is in flight across steps: ptxas
// serialises wgmmas whose accumulators are read by other instructions inside one never-drained pipeline.
template <int NWG, int KT, int STAGES, bool PINGPONG, bool PV, bool S>
__device__ __forceinline__ void h6_step(float (&sc)[KT / 2], float (&sn)[KT / 2], h6_rows<KT>& r, int j,
        const h6_smem<NWG, KT, STAGES>& sm, unsigned q_tile, int wg, int lane, int t, int lk, float scale_log2) {
    constexpr unsigned TB = KT * H9_ROWB;
    const int vs = (j + STAGES - 1) % STAGES, ks = (j + 1) % STAGES;
    if (PV || S) {
        // Turns (PINGPONG): warpgroup w issues after barrier 1 + w, then lets the next one go. Every warpgroup takes
        // ntiles turns (steps 0 .. ntiles - 1 when ntiles > 1); the last one skips its final pass (no taker left).
        if (PINGPONG) h6_turn_wait(1 + wg);
        if (PV) h6_wait(sm.v_full + 8 * vs, ((j - 1) / STAGES) & 1);
        if (S) h6_wait(sm.k_full + 8 * ks, ((j + 1) / STAGES) & 1);
        __syncwarp();   // wgmma (.aligned) next: the warp converged
        h9_mma_fence();
        if (PV) h9_issue_pv<KT>(r.o, r.p, sm.v + vs * TB);
        if (S) h9_issue_qk<KT>(sn, q_tile, sm.k + ks * TB);
        h9_mma_commit();
        if (PINGPONG && !(wg == NWG - 1 && !S)) h6_turn_pass(1 + (wg + 1) % NWG);
        h9_pin(sc);   // softmax(j) stays below the issue (nothing else orders it: S(j) is long complete)
    }
    h9_softmax<KT>(sc, j * KT, lk, t, scale_log2, r.m, r.l, r.corr);
    if (PV || S) {
        h9_mma_wait<0>();
        h9_pin(r.o);
        if (S) h9_pin(sn);
        h9_pin(sc);   // the packing of P(j) stays below the wait (P(j - 1) registers are read by the P V wgmma)
        if (lane == 0) {   // this warp is done with V(j - 1) and K(j + 1)
            if (PV) h9_bar_arrive(sm.v_empty + 8 * vs);
            if (S) h9_bar_arrive(sm.k_empty + 8 * ks);
        }
    }
    h9_pack_p<KT>(sc, r.p);
    // O to max m(j), which P(j) is relative to (skipped where no row's max moved: after the first tiles it rarely does)
    if (__any_sync(0xffffffffu, r.corr[0] != 1.f || r.corr[1] != 1.f)) h9_rescale(r.o, r.corr);
    h9_pin(r.o);
    h9_pin(r.p);
}

template <int NWG, int KT, int STAGES, bool PINGPONG, int PRODUCER_REGS, int CONSUMER_REGS>
__device__ __forceinline__ void h6_flash(act* __restrict__ out, int lq, int lk, int heads, int ldo, float scale_log2,
        const h6_tensor_map* qmap, const h6_tensor_map* kmap, const h6_tensor_map* vmap) {
    constexpr int BM = NWG * 64;
    constexpr unsigned TB = KT * H9_ROWB;
    extern __shared__ unsigned char h6_sm[];
    const h6_smem<NWG, KT, STAGES> sm(smem_u32(h6_sm));
    const int tid = threadIdx.x, wg = tid >> 7;
    const int qblocks = (lq + BM - 1) / BM;
    const int bh = blockIdx.x / qblocks, q0 = (blockIdx.x - bh * qblocks) * BM;
    const int b = bh / heads, h = bh - b * heads;
    const int ntiles = (lk + KT - 1) / KT;   // >= 1 (host-checked lk >= 1)
    if (tid == 0) {
        h9_bar_init(sm.q_full, 1);
        for (int s = 0; s < STAGES; s++) {
            h9_bar_init(sm.k_full + 8 * s, 1);
            h9_bar_init(sm.v_full + 8 * s, 1);
            h9_bar_init(sm.k_empty + 8 * s, NWG * 4);
            h9_bar_init(sm.v_empty + 8 * s, NWG * 4);
        }
        h9_bar_init(sm.done, NWG * 4);
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
        h9_proxy_fence();
    }
    __syncthreads();   // barriers initialised before any use; no block-wide barrier after this point

    if (wg == NWG) {   // producer warpgroup
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" :: "n"(PRODUCER_REGS) : "memory");
        if (tid == NWG * 128) h6_produce<NWG, KT, STAGES>(sm, qmap, kmap, vmap, q0, h, b, ntiles);
        return;
    }
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" :: "n"(CONSUMER_REGS) : "memory");
    const int wq = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
    const unsigned q_tile = sm.q + wg * 64 * H9_ROWB;   // this warpgroup's 64 query rows
    if (PINGPONG && ntiles > 1 && wg == NWG - 1) h6_turn_pass(1);   // warpgroup 0 takes the first turn

    h6_rows<KT> r;
    float sa[KT / 2], sb[KT / 2];   // S (then P in fp32) of the even and odd tiles
#pragma unroll
    for (int i = 0; i < 32; i++) r.o[i] = 0.f;
    r.m[0] = r.m[1] = __int_as_float(0xff800000);
    r.l[0] = r.l[1] = 0.f;
    h9_pin(r.o);

    // S(0), then steps 0 .. ntiles - 1 (odd tiles have S in sb, even ones in sa), then P(n - 1) V(n - 1)
    h6_wait(sm.q_full, 0);
    h6_wait(sm.k_full, 0);
    __syncwarp();
    h9_mma_fence();
    h9_issue_qk<KT>(sa, q_tile, sm.k);
    h9_mma_commit();
    h9_mma_wait<0>();
    h9_pin(sa);
    if (lane == 0) h9_bar_arrive(sm.k_empty);   // this warp is done with K(0)
#define H6_STEP(SC, SN, J, PV, S) \
    h6_step<NWG, KT, STAGES, PINGPONG, PV, S>(SC, SN, r, J, sm, q_tile, wg, lane, t, lk, scale_log2)
    if (ntiles == 1) {
        H6_STEP(sa, sb, 0, false, false);
    } else {
        H6_STEP(sa, sb, 0, false, true);
        int j = 1;
        for (; j + 2 < ntiles; j += 2) {
            H6_STEP(sb, sa, j, true, true);
            H6_STEP(sa, sb, j + 1, true, true);
        }
        if (j + 1 < ntiles) {   // j = ntiles - 2 (odd), then the last tile (even)
            H6_STEP(sb, sa, j, true, true);
            H6_STEP(sa, sb, j + 1, true, false);
        } else {                // j = ntiles - 1 (odd)
            H6_STEP(sb, sa, j, true, false);
        }
    }
#undef H6_STEP
    const int vs = (ntiles - 1) % STAGES;
    h6_wait(sm.v_full + 8 * vs, ((ntiles - 1) / STAGES) & 1);
    __syncwarp();
    h9_mma_fence();
    h9_issue_pv<KT>(r.o, r.p, sm.v + vs * TB);
    h9_mma_commit();
    h9_mma_wait<0>();
    h9_pin(r.o);
    if (lane == 0) h9_bar_arrive(sm.v_empty + 8 * vs);

#pragma unroll
    for (int rr = 0; rr < 2; rr++) {
        float sum = r.l[rr] + __shfl_xor_sync(0xffffffffu, r.l[rr], 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const int qi = q0 + wg * 64 + wq * 16 + g + rr * 8;
        if (qi >= lq) continue;   // zero-filled Q rows past lq: computed, never stored
        const float inv = 1.f / sum;
        unsigned* dst = (unsigned*) (out + ((i64) b * lq + qi) * ldo + (i64) h * 64 + 2 * t);
#pragma unroll
        for (int i = 0; i < 8; i++) dst[i * 4] = h9_pack(r.o[4 * i + 2 * rr] * inv, r.o[4 * i + 2 * rr + 1] * inv);
    }
    __syncwarp();
    if (lane == 0) h9_bar_arrive(sm.done);   // the producer's watchdog
}

// flash_sm90_d64_ws{consumer warpgroups}_k{key tile}[_np]: _np without the ping-pong turns. One block per SM
// (registers): 2 consumer warpgroups: 384 threads start at 168 registers, producer 24, consumers 240; 3: 512 threads
// at 128, producer 24, consumers 160 (the CTA's pool: 24 * 128 + 160 * 384 <= 65,536).
#define H6_KERNEL(NAME, NWG, KT, STAGES, PINGPONG, PREGS, CREGS) \
extern "C" __global__ void __launch_bounds__((NWG + 1) * 128, 1) NAME( \
        const act* q, const act* k, const act* v, act* out, int lq, int lk, int heads, \
        int ldq, int ldk, int ldv, int ldo, float scale_log2, const __grid_constant__ h6_tensor_map qmap, \
        const __grid_constant__ h6_tensor_map kmap, const __grid_constant__ h6_tensor_map vmap) { \
    h6_flash<NWG, KT, STAGES, PINGPONG, PREGS, CREGS>(out, lq, lk, heads, ldo, scale_log2, &qmap, &kmap, &vmap); }
H6_KERNEL(flash_sm90_d64_ws2_k128, 2, 128, 4, true, 24, 240)
H6_KERNEL(flash_sm90_d64_ws2_k128_np, 2, 128, 4, false, 24, 240)
H6_KERNEL(flash_sm90_d64_ws2_k64, 2, 64, 6, true, 24, 240)
H6_KERNEL(flash_sm90_d64_ws3_k64, 3, 64, 6, true, 24, 160)

#endif
