// The mma.sync building blocks the fp16/bf16 tensor-core kernels share (the flash attention kernels of
// attention_flash.cuh, the implicit-GEMM convolution of conv.cu): cp.async group commits, ldmatrix x4 fragment loads
// (plain and transposed) and the m16n8k16 MMA with fp32 accumulation, in the activation dtype. Inlined
// (KernelSources) where included; only for 16-bit activations (ACT_DTYPE 1: fp16, 2: bf16).
#if ACT_DTYPE == 1
#define MMA_T "f16"
#else
#define MMA_T "bf16"
#endif

__device__ __forceinline__ void mma_commit() { asm volatile("cp.async.commit_group;"); }
__device__ __forceinline__ void mma_ldsm4(unsigned a, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];" : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(a));
}
__device__ __forceinline__ void mma_ldsm4t(unsigned a, unsigned& r0, unsigned& r1, unsigned& r2, unsigned& r3) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];" : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3) : "r"(a));
}
// c += a · b for one m16n8k16 tile: a as four registers of the A fragment, b as two of the B fragment.
__device__ __forceinline__ void mma_m16n8k16(float* c, const unsigned* a, unsigned b0, unsigned b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." MMA_T "." MMA_T ".f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3]) : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
