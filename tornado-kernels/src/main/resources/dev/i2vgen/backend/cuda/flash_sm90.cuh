// The building blocks of the Hopper flash-attention kernels (sm_90a: wgmma), shared by attention_sm90.cu (v5) and
// attention_sm90_ws.cu (v6); the including family wraps it in #if ACT_DTYPE != 0 (fp16/bf16 only). KernelSources
// inlines it where a family says #include "flash_sm90.cuh" (NVRTC gets one source, no include path).
//
// Shared tiles use the 128-byte swizzle the descriptors declare: 16-byte chunk c of 128-byte row r is stored at chunk
// c ^ (r & 7) (bits 4-6 of the address XOR bits 7-9), every tile 1024-byte aligned; TMA's SWIZZLE_128B writes the
// same layout. Accumulator layout (m64nN, per warp 16 rows): row g of this thread is elements 4i, 4i + 1 of column
// block i, row g + 8 elements 4i + 2, 4i + 3 (g = lane / 4, t = lane % 4).
#if ACT_DTYPE == 1
#define H9_T "f16"
#else
#define H9_T "bf16"
#endif
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
