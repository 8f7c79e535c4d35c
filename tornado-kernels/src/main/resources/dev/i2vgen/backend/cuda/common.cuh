// Shared by every kernel family; prepended to each .cu source before NVRTC compiles it.
// ACT_DTYPE selects the activation storage type (0 fp32, 1 fp16, 2 bf16); arithmetic is always fp32.
// No CUDA headers: NVRTC then needs no include path, and half/bfloat16 conversions are single PTX instructions.
#ifndef ACT_DTYPE
#define ACT_DTYPE 0
#endif
typedef long long i64;

__device__ __forceinline__ float f16_to_f32(unsigned short h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ unsigned short f32_to_f16(float f) { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__device__ __forceinline__ float bf16_to_f32(unsigned short b) { return __int_as_float(((unsigned int) b) << 16); }
__device__ __forceinline__ unsigned short f32_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short) ((u >> 16) | 0x40u);  // quiet NaN stays NaN
    return (unsigned short) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);                   // round to nearest even
}

#if ACT_DTYPE == 0
typedef float act;
__device__ __forceinline__ float ld(const act* p, i64 i) { return p[i]; }
__device__ __forceinline__ void st(act* p, i64 i, float v) { p[i] = v; }
#elif ACT_DTYPE == 1
typedef unsigned short act;
__device__ __forceinline__ float ld(const act* p, i64 i) { return f16_to_f32(p[i]); }
__device__ __forceinline__ void st(act* p, i64 i, float v) { p[i] = f32_to_f16(v); }
#else
typedef unsigned short act;
__device__ __forceinline__ float ld(const act* p, i64 i) { return bf16_to_f32(p[i]); }
__device__ __forceinline__ void st(act* p, i64 i, float v) { p[i] = f32_to_bf16(v); }
#endif

// Operands of other storage types (Cast, ids, timesteps) carry a dtype code, matching CudaDType in Java.
#define DT_F32 0
#define DT_F16 1
#define DT_BF16 2
#define DT_F64 3
#define DT_I64 4
#define DT_I32 5
#define DT_I16 6
#define DT_I8 7
#define DT_U8 8
__device__ __forceinline__ double ld_any(const void* p, int dt, i64 i) {
    switch (dt) {
        case DT_F32: return ((const float*) p)[i];
        case DT_F16: return f16_to_f32(((const unsigned short*) p)[i]);
        case DT_BF16: return bf16_to_f32(((const unsigned short*) p)[i]);
        case DT_F64: return ((const double*) p)[i];
        case DT_I64: return (double) ((const long long*) p)[i];
        case DT_I32: return ((const int*) p)[i];
        case DT_I16: return ((const short*) p)[i];
        case DT_I8: return ((const signed char*) p)[i];
        default: return ((const unsigned char*) p)[i];
    }
}
__device__ __forceinline__ void st_any(void* p, int dt, i64 i, double v) {
    switch (dt) {
        case DT_F32: ((float*) p)[i] = (float) v; break;
        case DT_F16: ((unsigned short*) p)[i] = f32_to_f16((float) v); break;
        case DT_BF16: ((unsigned short*) p)[i] = f32_to_bf16((float) v); break;
        case DT_F64: ((double*) p)[i] = v; break;
        case DT_I64: ((long long*) p)[i] = (long long) v; break;
        case DT_I32: ((int*) p)[i] = (int) v; break;
        case DT_I16: ((short*) p)[i] = (short) v; break;
        case DT_I8: ((signed char*) p)[i] = (signed char) v; break;
        default: ((unsigned char*) p)[i] = (unsigned char) v; break;
    }
}

#define GRID_STRIDE(i, n) for (i64 i = (i64) blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64) blockDim.x * gridDim.x)

// Block-wide sum for reductions (blockDim.x a multiple of 32, at most 1024). Every thread gets the result.
__device__ __forceinline__ float block_sum(float v, float* scratch /* [32] */) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? scratch[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? scratch[lane] : __int_as_float(0xff800000);
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// ---- V activation values per global load/store (V * sizeof(act) = 2, 4, 8 or 16 bytes, the address aligned to it),
// converted to/from float: the vectorised memory-bound kernels (elementwise.cu, normalization.cu). ----
struct __align__(8) vec_w2 { unsigned int x, y; };
struct __align__(16) vec_w4 { unsigned int x, y, z, w; };

#if ACT_DTYPE == 0
#define VEC_PER_WORD 1
__device__ __forceinline__ void vec_unpack(unsigned int w, float* f) { f[0] = __uint_as_float(w); }
__device__ __forceinline__ unsigned int vec_pack(const float* f) { return __float_as_uint(f[0]); }
#else
#define VEC_PER_WORD 2
__device__ __forceinline__ float vec_half(unsigned int h) { return ACT_DTYPE == 1 ? f16_to_f32((unsigned short) h) : bf16_to_f32((unsigned short) h); }
__device__ __forceinline__ unsigned int vec_round(float f) { return ACT_DTYPE == 1 ? f32_to_f16(f) : f32_to_bf16(f); }
__device__ __forceinline__ void vec_unpack(unsigned int w, float* f) { f[0] = vec_half(w & 0xffffu); f[1] = vec_half(w >> 16); }
__device__ __forceinline__ unsigned int vec_pack(const float* f) { return vec_round(f[0]) | (vec_round(f[1]) << 16); }
#endif

template <int V> __device__ __forceinline__ void vec_load(const act* p, float* f) {
    constexpr int BYTES = V * (int) sizeof(act);
    static_assert(BYTES == 2 || BYTES == 4 || BYTES == 8 || BYTES == 16, "1 to 16 bytes per access");
    if constexpr (BYTES == 2) {
        f[0] = ld(p, 0);
    } else if constexpr (BYTES == 4) {
        vec_unpack(*reinterpret_cast<const unsigned int*>(p), f);
    } else if constexpr (BYTES == 8) {
        const vec_w2 w = *reinterpret_cast<const vec_w2*>(p);
        vec_unpack(w.x, f); vec_unpack(w.y, f + VEC_PER_WORD);
    } else {
        const vec_w4 w = *reinterpret_cast<const vec_w4*>(p);
        vec_unpack(w.x, f); vec_unpack(w.y, f + VEC_PER_WORD); vec_unpack(w.z, f + 2 * VEC_PER_WORD); vec_unpack(w.w, f + 3 * VEC_PER_WORD);
    }
}

// explicit vector stores: nvcc may split a struct store into 4-byte ones
template <int V> __device__ __forceinline__ void vec_store(act* p, const float* f) {
    constexpr int BYTES = V * (int) sizeof(act);
    static_assert(BYTES == 2 || BYTES == 4 || BYTES == 8 || BYTES == 16, "1 to 16 bytes per access");
    if constexpr (BYTES == 2) {
        st(p, 0, f[0]);
    } else if constexpr (BYTES == 4) {
        *reinterpret_cast<unsigned int*>(p) = vec_pack(f);
    } else if constexpr (BYTES == 8) {
        asm volatile("st.global.v2.u32 [%0], {%1, %2};" :: "l"(p), "r"(vec_pack(f)), "r"(vec_pack(f + VEC_PER_WORD)) : "memory");
    } else {
        asm volatile("st.global.v4.u32 [%0], {%1, %2, %3, %4};" :: "l"(p), "r"(vec_pack(f)), "r"(vec_pack(f + VEC_PER_WORD)),
                     "r"(vec_pack(f + 2 * VEC_PER_WORD)), "r"(vec_pack(f + 3 * VEC_PER_WORD)) : "memory");
    }
}

// The 32-bit shared-memory address of a generic pointer into shared memory (for cp.async, ldmatrix, wgmma, mbarrier).
__device__ __forceinline__ unsigned smem_u32(const void* p) {
    unsigned r;
    asm volatile("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
    return r;
}

// 16-byte global->shared asynchronous copy; with valid == false nothing is read and the 16 bytes are zero-filled.
__device__ __forceinline__ void cp_async16(unsigned dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
