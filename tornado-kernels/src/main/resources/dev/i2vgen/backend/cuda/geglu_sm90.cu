// The feed-forward input GEMM of diffusers' GEGLU with the activation in its epilogue, for Hopper (sm_90a only: wgmma,
// TMA, setmaxnreg). fp16/bf16 storage, fp32 accumulation. Compiled by NVRTC for compute_90a (KernelCache); chosen by
// GegluFusion / Sm90GegluGemm on compute capability 9.0 only.
//
//   out[m, n] = (x[m, :] . W[n, :] + b[n]) * gelu_erf(x[m, :] . W[I + n, :] + b[I + n]),   0 <= n < I
//
// x [M, K] and the Linear's weight W [2I, K] (value rows first, then gate rows; K contiguous, K % 64 == 0), bias [2I]
// (zeros for a Linear without one), out [M, I] (I % 64 == 0). The [M, 2I] projection never exists: value and gate stay in fp32 registers.
//
// Tile of one consumer warpgroup: 128 rows x 64 output columns = two m64n128k16 wgmmas per k-step sharing one B tile
// of 128 weight rows (64 value rows, then the 64 gate rows of the same columns: two TMA boxes into adjacent shared
// memory, so W is used as uploaded). Thread (warp w, lane g * 4 + t) holds, for each 64-row half h, rows
// 64h + 16w + g (+ 8) and columns 8i + 2t, +1 of block i: blocks 0-7 are values, blocks 8-15 the gates of the same
// output columns, so the epilogue needs no data exchange.
//
// Block = 3 warpgroups, persistent (one block per SM, tiles blockIdx.x + j * gridDim.x, columns fastest so the
// blocks in flight share x rows and W in L2):
//   warpgroup 0, producer: one thread issues the TMA loads (x box 64 x 128, two W boxes 64 x 64) of every k-tile of
//     the block's tiles, in order, into a ring of G9_STAGES stages ("full" mbarriers with transaction counts, "empty"
//     ones released by the consumers); it gives its registers away (setmaxnreg 40);
//   warpgroups 1 and 2, consumers (setmaxnreg 232): the block's even and odd tiles ("ping-pong"): the two take turns
//     on the tensor cores (an mbarrier pair hands the turn over once a warpgroup has issued its tile's wgmmas), so
//     one's epilogue (exact erf GELU, product, 4-byte stores: ~30 FP32 instructions per output; the bias is the
//     accumulators' initial value) runs while the other's wgmmas do. At K = 320 the epilogue is ~80 % of a tile's
//     MMA time: without the overlap it would add that much.
// Shared tiles use the 128-byte swizzle TMA writes and the wgmma descriptors declare (16-byte chunk c of 128-byte row
// r at chunk c ^ (r & 7), every tile 1024-byte aligned), as in attention_sm90.cu.
// Rows past M: TMA fills them with zeros, their outputs are not stored.
#if ACT_DTYPE != 0

#if ACT_DTYPE == 1
#define G9_T "f16"
#else
#define G9_T "bf16"
#endif
#define G9_BM 128         // rows of one consumer tile
#define G9_BN 64          // output columns of one tile (value and gate: 128 weight rows)
#define G9_BK 64          // k per stage: one 128-byte swizzle row
#define G9_STAGES 6
#define G9_A_BYTES (G9_BM * 128)             // 16 KB
#define G9_B_BYTES (2 * G9_BN * 128)         // 16 KB
#define G9_STAGE_BYTES (G9_A_BYTES + G9_B_BYTES)
// registers per thread after setmaxnreg: 128 x 40 + 256 x 232 = the 384 x 168 the block is launched with
#define G9_PRODUCER_REGS 40
#define G9_CONSUMER_REGS 232
#define G9_WAIT_LIMIT (1u << 26)             // failed mbarrier polls before a trap: a protocol error, not a hang

// The driver's CUtensorMap: 128 opaque bytes, passed by value (__grid_constant__) and read by TMA from parameter space.
struct __align__(64) g9_tensor_map { unsigned long long opaque[16]; };

__device__ __forceinline__ void g9_bar_init(unsigned bar, unsigned count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" :: "r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void g9_bar_arrive(unsigned bar) {
    asm volatile("{ .reg .b64 st; mbarrier.arrive.shared::cta.b64 st, [%0]; }" :: "r"(bar) : "memory");
}
// one arrival that also announces the bytes the TMA loads of this phase will deliver
__device__ __forceinline__ void g9_bar_expect(unsigned bar, unsigned bytes) {
    asm volatile("{ .reg .b64 st; mbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1; }" :: "r"(bar), "r"(bytes) : "memory");
}
// Waits for the completion of the phase with this parity (use n of a barrier: parity n & 1). A wait that never ends
// (a wrong transaction count, a lost arrival) traps: the launch fails with an error instead of hanging the device.
__device__ __forceinline__ void g9_bar_wait(unsigned bar, unsigned parity) {
    unsigned done, polls = 0;
    do {
        asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                     : "=r"(done) : "r"(bar), "r"(parity) : "memory");
        if (!done && ++polls == G9_WAIT_LIMIT) asm volatile("trap;");
    } while (!done);
}
// the same for a whole warp, converged afterwards: wgmma (.aligned) may come next
__device__ __forceinline__ void g9_bar_wait_warp(unsigned bar, unsigned parity) {
    g9_bar_wait(bar, parity);
    __syncwarp();
}

// 2-D TMA load of one box at (c0 = k, c1 = row) into shared memory, completing on mbarrier bar
__device__ __forceinline__ void g9_tma_load(unsigned dst, const g9_tensor_map* map, int c0, int c1, unsigned bar) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];"
                 :: "r"(dst), "l"(reinterpret_cast<unsigned long long>(map)), "r"(c0), "r"(c1), "r"(bar) : "memory");
}
__device__ __forceinline__ void g9_tma_prefetch(const g9_tensor_map* map) {
    asm volatile("prefetch.tensormap [%0];" :: "l"(reinterpret_cast<unsigned long long>(map)) : "memory");
}

__device__ __forceinline__ void g9_mma_fence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void g9_mma_commit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int N> __device__ __forceinline__ void g9_mma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;" :: "n"(N) : "memory"); }
// Pins accumulator registers here: their reads cannot move above the wgmma wait before this point.
__device__ __forceinline__ void g9_pin(float (&r)[64]) {
#pragma unroll
    for (int i = 0; i < 64; i++) asm volatile("" : "+f"(r[i]) :: "memory");
}

// Shared-memory matrix descriptor, 128-byte swizzle, K-major: start address, leading byte offset 16 (unused by the
// swizzled K-major layout), stride 1024 bytes between 8-row groups (all >> 4); swizzle mode 1 in bits 62-63.
__device__ __forceinline__ unsigned long long g9_desc(unsigned addr) {
    return (unsigned long long) ((addr & 0x3FFFFu) >> 4) | (1ull << 16) | (64ull << 32) | (1ull << 62);
}

#define G9_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
// d += A B, m64n128k16, A and B from shared memory (both K-major); scale-d is a predicate operand, set true from a
// register as attention_sm90.cu does (the accumulators always start at the bias)
__device__ __forceinline__ void g9_mma(float (&d)[64], unsigned long long da, unsigned long long db) {
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32." G9_T "." G9_T " "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
                 "%64, %65, p, 1, 1, 0, 0;\n}"
                 : G9_D8(0), G9_D8(8), G9_D8(16), G9_D8(24), G9_D8(32), G9_D8(40), G9_D8(48), G9_D8(56)
                 : "l"(da), "l"(db), "r"(1));
}

// acc[h][4i + 2r + e] = b[col + 8i + e] (values), acc[h][32 + 4i + 2r + e] = b[half + col + 8i + e] (gates). The
// host passes zeros for a Linear without bias: no branch here (one made ptxas serialize the wgmmas).
__device__ __forceinline__ void g9_bias_init(float (&acc)[2][64], const act* __restrict__ bias, int col, int half) {
#pragma unroll
    for (int i = 0; i < 16; i++) {
        float b[2];
        vec_unpack(__ldg(reinterpret_cast<const unsigned*>(bias + (i < 8 ? 0 : half) + col + 8 * (i & 7))), b);
#pragma unroll
        for (int h = 0; h < 2; h++) {
            acc[h][4 * i] = b[0];
            acc[h][4 * i + 1] = b[1];
            acc[h][4 * i + 2] = b[0];
            acc[h][4 * i + 3] = b[1];
        }
    }
}

// exactly elementwise.cu's gelu_erf: the unfused GEGLU's activation
__device__ __forceinline__ float g9_gelu(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }

__device__ __forceinline__ unsigned g9_pack(float lo, float hi) {
    unsigned r;
    asm("cvt.rn." G9_T "x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

__device__ __forceinline__ void g9_geglu(const g9_tensor_map* tmx, const g9_tensor_map* tmw, const act* __restrict__ bias,
                                         act* __restrict__ out, int m, int half, int k) {
    extern __shared__ unsigned char g9_sm[];
    // [stage 0: A, B][stage 1: A, B]...[full[STAGES], empty[STAGES], turn[2]]; the base rounded up to 1024 (the host
    // adds 1024 bytes of slack)
    const unsigned base = (smem_u32(g9_sm) + 1023u) & ~1023u;
    const unsigned full = base + G9_STAGES * G9_STAGE_BYTES, empty = full + 8 * G9_STAGES, turn = empty + 8 * G9_STAGES;
    // the warpgroup as a warp-uniform value (a shuffle from lane 0): loops bounded by it are not divergent to ptxas,
    // which would otherwise serialize the wgmmas inside them
    const int tid = threadIdx.x, role = __shfl_sync(0xffffffffu, tid >> 7, 0);
    const int tiles_n = half / G9_BN, tiles = ((m + G9_BM - 1) / G9_BM) * tiles_n, ktiles = k / G9_BK;
    if (tid == 0) {
        for (int s = 0; s < G9_STAGES; s++) {
            g9_bar_init(full + 8 * s, 1);        // the producer's expect_tx arrival (+ the bytes)
            g9_bar_init(empty + 8 * s, 4);       // one arrival per warp of the consumer warpgroup that read the stage
        }
        g9_bar_init(turn, 4);                    // turn[c]: consumer c may issue its next tile's wgmmas
        g9_bar_init(turn + 8, 4);
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
    }
    __syncthreads();   // barriers initialised before any use; no block-wide barrier after this point

    if (role == 0) {   // producer
        asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" :: "n"(G9_PRODUCER_REGS));
        if (tid != 0) return;
        g9_tma_prefetch(tmx);
        g9_tma_prefetch(tmw);
        int stage = 0;
        unsigned use = 0;   // completed passes over the ring
        for (int tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
            const int m0 = (tile / tiles_n) * G9_BM, n0 = (tile % tiles_n) * G9_BN;
            for (int kt = 0; kt < ktiles; kt++) {
                if (use > 0) g9_bar_wait(empty + 8 * stage, (use - 1) & 1);
                const unsigned a = base + stage * G9_STAGE_BYTES, b = a + G9_A_BYTES, bar = full + 8 * stage;
                g9_bar_expect(bar, G9_STAGE_BYTES);
                g9_tma_load(a, tmx, kt * G9_BK, m0, bar);
                g9_tma_load(b, tmw, kt * G9_BK, n0, bar);                 // 64 value rows
                g9_tma_load(b + G9_B_BYTES / 2, tmw, kt * G9_BK, half + n0, bar);   // their 64 gate rows
                if (++stage == G9_STAGES) { stage = 0; use++; }
            }
        }
        // the tail: wait until the consumers released every stage's last use, so that the block ends with no TMA load
        // in flight and a consumer that waits forever makes this wait trap
        for (int s = 0; s < G9_STAGES; s++) {
            const unsigned uses = use + (s < stage ? 1u : 0u);
            if (uses > 0) g9_bar_wait(empty + 8 * s, (uses - 1) & 1);
        }
        return;
    }

    // consumers
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" :: "n"(G9_CONSUMER_REGS));
    const int c = role - 1, warp = (tid >> 5) & 3, lane = tid & 31, g = lane >> 2, t = lane & 3;
    float acc[2][64];
    // the ring position of this warpgroup's next stage; it skips the other warpgroup's tiles (ktiles stages each)
    int stage = 0;
    unsigned phase = 0;
    auto advance = [&](int count) {
        for (stage += count; stage >= G9_STAGES; stage -= G9_STAGES) phase ^= 1u;
    };
    if (c == 1) advance(ktiles);
    int n = 0;   // this warpgroup's tiles so far
    for (int tile = blockIdx.x + c * gridDim.x; tile < tiles; tile += 2 * gridDim.x, n++) {
        const int m0 = (tile / tiles_n) * G9_BM, n0 = (tile % tiles_n) * G9_BN;
        // the accumulators start at the biases of this thread's columns (8i + 2t, +1 of block i): the epilogue then
        // holds no bias registers (it spilled with them), and this runs while the other warpgroup has the tensor cores
        g9_bias_init(acc, bias, n0 + 2 * t, half);
        g9_pin(acc[0]);   // float registers from here on (bf16's integer unpacking made the loop carry them as integers:
        g9_pin(acc[1]);   // moves around every wgmma, which ptxas then fenced)
        // the turn: consumer 0 starts; afterwards each waits for the other's hand-over. Besides the ping-pong, this
        // keeps every full-barrier wait at most one phase ahead of the barrier (its parity would alias otherwise):
        // when a consumer starts a tile, every stage use of the tiles before it has been loaded.
        if (c == 1) g9_bar_wait_warp(turn + 8, n & 1);
        else if (n > 0) g9_bar_wait_warp(turn, (n - 1) & 1);
        int previous = 0;
        for (int kt = 0; kt < ktiles; kt++) {
            g9_bar_wait_warp(full + 8 * stage, phase);
            g9_mma_fence();   // per k-tile, as ptxas would insert it (the accumulators were written outside wgmma)
            const unsigned a = base + stage * G9_STAGE_BYTES, b = a + G9_A_BYTES;
#pragma unroll
            for (int kk = 0; kk < 4; kk++) {
                const unsigned long long db = g9_desc(b + kk * 32);
                g9_mma(acc[0], g9_desc(a + kk * 32), db);
                g9_mma(acc[1], g9_desc(a + 64 * 128 + kk * 32), db);
            }
            g9_mma_commit();
            if (kt > 0) {   // the previous stage's wgmmas are done: release it to the producer
                g9_mma_wait<1>();
                if (lane == 0) g9_bar_arrive(empty + 8 * previous);
            }
            previous = stage;
            advance(1);
        }
        advance(ktiles);   // past the other warpgroup's next tile
        if (lane == 0) g9_bar_arrive(turn + 8 * (1 - c));   // the other's wgmmas queue behind ours
        g9_mma_wait<0>();
        g9_pin(acc[0]);
        g9_pin(acc[1]);
        if (lane == 0) g9_bar_arrive(empty + 8 * previous);
        // rows 64h + 16 warp + g (+ 8): every thread computes (no accumulator is read on a divergent path: ptxas would
        // serialize the next tile's wgmmas); rows past m are not stored
        act* dst = out + (i64) (m0 + 16 * warp + g) * half + n0 + 2 * t;
        const int rows_left = m - m0 - 16 * warp - g;
#pragma unroll
        for (int h = 0; h < 2; h++)
#pragma unroll
            for (int r = 0; r < 2; r++) {
                const bool store = 64 * h + 8 * r < rows_left;
                unsigned* row = reinterpret_cast<unsigned*>(dst + (i64) (64 * h + 8 * r) * half);
#pragma unroll
                for (int i = 0; i < 8; i++) {
                    const float* v = &acc[h][4 * i + 2 * r];
                    const float* gt = &acc[h][32 + 4 * i + 2 * r];
                    const unsigned packed = g9_pack(v[0] * g9_gelu(gt[0]), v[1] * g9_gelu(gt[1]));
                    if (store) row[4 * i] = packed;
                }
            }
    }
}

// Dynamic shared memory: 1024 + G9_STAGES * 32768 + 8 * (2 * G9_STAGES + 2) bytes (Sm90GegluGemm.sharedBytes).
extern "C" __global__ void __launch_bounds__(384, 1) geglu_sm90_m128n64(const __grid_constant__ g9_tensor_map tmx,
        const __grid_constant__ g9_tensor_map tmw, const act* bias, act* out, int m, int half, int k) {
    g9_geglu(&tmx, &tmw, bias, out, m, half, k);
}

#endif
