// Element-wise kernels: unary functions, broadcasting binary ops, affine, clamp, GEGLU, CFG combine,
// DDIM step, linear combinations, the non-finite flag, per-channel bias and dtype conversion. One thread per output
// element (grid-stride).

// Unary kinds, matching Unary.Kind's order in Java.
#define U_SILU 0
#define U_GELU 1
#define U_GELU_TANH 2
#define U_QUICK_GELU 3
#define U_EXP 4
#define U_SIGMOID 5
#define U_TANH 6

__device__ __forceinline__ float gelu_erf(float x) { return 0.5f * x * (1.f + erff(x * 0.70710678118654752f)); }

__device__ __forceinline__ float unary_fn(int kind, float x) {
    switch (kind) {
        case U_SILU: return x / (1.f + expf(-x));
        case U_GELU: return gelu_erf(x);
        case U_GELU_TANH: return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
        case U_QUICK_GELU: return x / (1.f + expf(-1.702f * x));
        case U_EXP: return expf(x);
        case U_SIGMOID: return 1.f / (1.f + expf(-x));
        default: return tanhf(x);
    }
}

extern "C" __global__ void unary(const act* x, act* y, i64 n, int kind) {
    GRID_STRIDE(i, n) st(y, i, unary_fn(kind, ld(x, i)));
}

extern "C" __global__ void affine(const act* x, act* y, i64 n, float scale, float shift) {
    GRID_STRIDE(i, n) st(y, i, ld(x, i) * scale + shift);
}

extern "C" __global__ void clamp(const act* x, act* y, i64 n, float lo, float hi) {
    GRID_STRIDE(i, n) st(y, i, fminf(fmaxf(ld(x, i), lo), hi));
}

// Broadcast geometry: the output's dims and each operand's element strides (0 on broadcast axes).
#define MAX_RANK 8
struct Broadcast {
    i64 dims[MAX_RANK];
    i64 a_strides[MAX_RANK];
    i64 b_strides[MAX_RANK];
    int rank;
};

#define B_ADD 0
#define B_SUB 1
#define B_MUL 2
#define B_DIV 3

__device__ __forceinline__ float binary_fn(int kind, float u, float v) {
    switch (kind) {
        case B_ADD: return u + v;
        case B_SUB: return u - v;
        case B_MUL: return u * v;
        default: return u / v;
    }
}

// Both operands shaped like the output (residual adds, gating): no index decoding at all.
extern "C" __global__ void binary_same(const act* a, const act* b, act* y, i64 n, int kind) {
    GRID_STRIDE(i, n) st(y, i, binary_fn(kind, ld(a, i), ld(b, i)));
}

extern "C" __global__ void binary(const act* a, const act* b, act* y, i64 n, int kind, Broadcast g) {
    GRID_STRIDE(i, n) {
        i64 rest = i, ia = 0, ib = 0;
        for (int d = g.rank - 1; d >= 0; d--) {
            i64 c = rest % g.dims[d];
            rest /= g.dims[d];
            ia += c * g.a_strides[d];
            ib += c * g.b_strides[d];
        }
        st(y, i, binary_fn(kind, ld(a, ia), ld(b, ib)));
    }
}

// y[r, j] = x[r, j] * gelu(x[r, D + j]) for rows of width 2D.
extern "C" __global__ void geglu(const act* x, act* y, i64 rows, i64 d) {
    GRID_STRIDE(i, rows * d) {
        i64 r = i / d, j = i - r * d;
        float a = ld(x, r * 2 * d + j), g = ld(x, r * 2 * d + d + j);
        st(y, i, a * gelu_erf(g));
    }
}

// ---- Vectorised binary_same and GEGLU: V activation values per load/store (V * sizeof(act) <= 16 bytes, aligned;
// TaskLowering checks and otherwise launches the scalar kernels above). ----
#define EW_VEC (16 / (int) sizeof(act))   // values per 16 bytes

// binary_same on 16-byte vectors (all three bases 16-byte aligned); the n % EW_VEC tail element-wise by block 0.
// The kind is a template argument so that the loop holds no per-element switch.
template <int K>
__device__ __forceinline__ void binary_same_vec_body(const act* __restrict__ a, const act* __restrict__ b, act* __restrict__ y, i64 n) {
    const i64 nv = n / EW_VEC;
    GRID_STRIDE(i, nv) {
        float u[EW_VEC], v[EW_VEC];
        vec_load<EW_VEC>(a + i * EW_VEC, u);
        vec_load<EW_VEC>(b + i * EW_VEC, v);
#pragma unroll
        for (int e = 0; e < EW_VEC; e++) u[e] = binary_fn(K, u[e], v[e]);
        vec_store<EW_VEC>(y + i * EW_VEC, u);
    }
    if (blockIdx.x == 0)
        for (i64 i = nv * EW_VEC + threadIdx.x; i < n; i += blockDim.x) st(y, i, binary_fn(K, ld(a, i), ld(b, i)));
}

extern "C" __global__ void binary_same_vec(const act* __restrict__ a, const act* __restrict__ b, act* __restrict__ y, i64 n, int kind) {
    switch (kind) {
        case B_ADD: binary_same_vec_body<B_ADD>(a, b, y, n); break;
        case B_SUB: binary_same_vec_body<B_SUB>(a, b, y, n); break;
        case B_MUL: binary_same_vec_body<B_MUL>(a, b, y, n); break;
        default: binary_same_vec_body<B_DIV>(a, b, y, n); break;
    }
}

// One operand value per row: y = a ⊙ s[j] (or s[j] ⊙ a when scalarFirst), rows of `inner` values (inner % EW_VEC
// == 0, bases 16-byte aligned), j = (row / (period·repeat))·period + row % period: the operand repeats `repeat`
// times between its leading and trailing part (TensorLayouts.RowBroadcast) — the resnets' "h + temb[:, None, :, None,
// None]" over [B, F, C, H, W], which the broadcasting kernel above handles with a rank-8 index decoding per element.
template <int K>
__device__ __forceinline__ void binary_rows_vec_body(const act* __restrict__ a, const act* __restrict__ s, act* __restrict__ y,
                                                     i64 n, i64 inner, i64 period, i64 repeat, int scalarFirst) {
    const i64 nv = n / EW_VEC, perRow = inner / EW_VEC;
    GRID_STRIDE(i, nv) {
        float u[EW_VEC];
        vec_load<EW_VEC>(a + i * EW_VEC, u);
        const i64 row = i / perRow;
        const float c = ld(s, (row / (period * repeat)) * period + row % period);
#pragma unroll
        for (int e = 0; e < EW_VEC; e++) u[e] = scalarFirst ? binary_fn(K, c, u[e]) : binary_fn(K, u[e], c);
        vec_store<EW_VEC>(y + i * EW_VEC, u);
    }
}

extern "C" __global__ void binary_rows_vec(const act* __restrict__ a, const act* __restrict__ s, act* __restrict__ y,
                                           i64 n, i64 inner, i64 period, i64 repeat, int kind, int scalarFirst) {
    switch (kind) {
        case B_ADD: binary_rows_vec_body<B_ADD>(a, s, y, n, inner, period, repeat, scalarFirst); break;
        case B_SUB: binary_rows_vec_body<B_SUB>(a, s, y, n, inner, period, repeat, scalarFirst); break;
        case B_MUL: binary_rows_vec_body<B_MUL>(a, s, y, n, inner, period, repeat, scalarFirst); break;
        default: binary_rows_vec_body<B_DIV>(a, s, y, n, inner, period, repeat, scalarFirst); break;
    }
}

// One operand shaped like the output, the other a row of `period` values repeated: operand index of element e is
// (e / (period * repeat)) * period + e % period (TensorLayouts.RowBroadcast with inner 1: [B, 1, C] against [B, N, C],
// [1, P] against [R, P]). period % EW_VEC == 0, so each output vector reads EW_VEC consecutive operand values.
template <int K>
__device__ __forceinline__ void binary_tile_vec_body(const act* __restrict__ a, const act* __restrict__ s, act* __restrict__ y,
                                                     i64 n, i64 period, i64 repeat, int scalarFirst) {
    const i64 nv = n / EW_VEC;
    GRID_STRIDE(i, nv) {
        float u[EW_VEC], c[EW_VEC];
        const i64 e = i * EW_VEC;
        vec_load<EW_VEC>(a + e, u);
        vec_load<EW_VEC>(s + (e / (period * repeat)) * period + e % period, c);
#pragma unroll
        for (int k = 0; k < EW_VEC; k++) u[k] = scalarFirst ? binary_fn(K, c[k], u[k]) : binary_fn(K, u[k], c[k]);
        vec_store<EW_VEC>(y + e, u);
    }
}

extern "C" __global__ void binary_tile_vec(const act* __restrict__ a, const act* __restrict__ s, act* __restrict__ y,
                                           i64 n, i64 period, i64 repeat, int kind, int scalarFirst) {
    switch (kind) {
        case B_ADD: binary_tile_vec_body<B_ADD>(a, s, y, n, period, repeat, scalarFirst); break;
        case B_SUB: binary_tile_vec_body<B_SUB>(a, s, y, n, period, repeat, scalarFirst); break;
        case B_MUL: binary_tile_vec_body<B_MUL>(a, s, y, n, period, repeat, scalarFirst); break;
        default: binary_tile_vec_body<B_DIV>(a, s, y, n, period, repeat, scalarFirst); break;
    }
}

// GEGLU on V-wide vectors: rows of 2 * dv vectors in, dv out (d = dv * V; both halves of a row then start aligned).
// total = rows * dv < 2^31 (host check): one 32-bit division per V outputs.
template <int V>
__device__ __forceinline__ void geglu_vec_body(const act* __restrict__ x, act* __restrict__ y, i64 total, unsigned dv) {
    GRID_STRIDE(i, total) {
        const unsigned r = (unsigned) i / dv, j = (unsigned) i - r * dv;
        const act* row = x + (i64) r * 2 * dv * V;
        float h[V], g[V];
        vec_load<V>(row + (i64) j * V, h);
        vec_load<V>(row + (i64) (dv + j) * V, g);
#pragma unroll
        for (int e = 0; e < V; e++) h[e] *= gelu_erf(g[e]);
        vec_store<V>(y + i * V, h);
    }
}

#define GEGLU_VEC(V) \
    extern "C" __global__ void geglu_v##V(const act* __restrict__ x, act* __restrict__ y, i64 total, unsigned dv) { geglu_vec_body<V>(x, y, total, dv); }
#if ACT_DTYPE == 0
GEGLU_VEC(1)   // one float = 4 bytes
GEGLU_VEC(2)
GEGLU_VEC(4)
#else
GEGLU_VEC(2)
GEGLU_VEC(4)
GEGLU_VEC(8)
#endif

// x holds [uncond; cond] halves of `half` elements each.
extern "C" __global__ void cfg_combine(const act* x, act* y, i64 half, float guidance) {
    GRID_STRIDE(i, half) {
        float u = ld(x, i), c = ld(x, half + i);
        st(y, i, u + guidance * (c - u));
    }
}

// y[n, c, s] = x[n, c, s] + bias[c]  (conv bias after the GEMM).
extern "C" __global__ void bias_channel(act* y, const act* bias, i64 n, i64 channels, i64 inner) {
    GRID_STRIDE(i, n) {
        i64 c = (i / inner) % channels;
        st(y, i, ld(y, i) + ld(bias, c));
    }
}

// coef = {sqrt(a_t), sqrt(1-a_t), sqrt(a_prev), sqrt(1-a_prev-s^2), sigma, prediction type, clip range}.
extern "C" __global__ void ddim_step(const act* x, const act* m, const void* coef, int coef_dt,
                                     const act* noise, act* y, i64 n) {
    float sa = (float) ld_any(coef, coef_dt, 0), sb = (float) ld_any(coef, coef_dt, 1);
    float sp = (float) ld_any(coef, coef_dt, 2), dir = (float) ld_any(coef, coef_dt, 3);
    float sigma = (float) ld_any(coef, coef_dt, 4);
    int type = (int) ld_any(coef, coef_dt, 5);
    float clip = (float) ld_any(coef, coef_dt, 6);
    GRID_STRIDE(i, n) {
        float xs = ld(x, i), mo = ld(m, i), x0, eps;
        if (type == 0) { x0 = (xs - sb * mo) / sa; eps = mo; }
        else if (type == 1) { x0 = sa * xs - sb * mo; eps = sa * mo + sb * xs; }
        else { x0 = mo; eps = (xs - sa * x0) / sb; }
        if (clip > 0.f) {
            x0 = fminf(fmaxf(x0, -clip), clip);
        }
        float prev = sp * x0 + dir * eps;
        if (noise != 0 && sigma > 0.f) prev += sigma * ld(noise, i);
        st(y, i, prev);
    }
}

// ---- LinearCombination: y = sum_j c[j] * t_j, acc = c0 * t0 then acc = fma(c_j, t_j, acc) in term order (as the
// JVM and OpenCL backends compute it), rounded once to the activation type. The coefficients are fp32 on the device
// and read by the kernel (bound per run: one CUDA graph serves every step); k is a template argument so that the
// term loop unrolls over constant indices into the by-value pointer array. ----
#define LC_MAX_TERMS 8   // LinearCombination.MAX_TERMS
struct LinearTerms {
    const void* ptr[LC_MAX_TERMS];   // the first k used
    int dt[LC_MAX_TERMS];            // each term's storage type: DT_F32, DT_F16 or DT_BF16
    int k;
};

__device__ __forceinline__ float ld_term(const void* p, int dt, i64 i) {
    if (dt == DT_F16) return f16_to_f32(((const unsigned short*) p)[i]);
    if (dt == DT_BF16) return bf16_to_f32(((const unsigned short*) p)[i]);
    return ((const float*) p)[i];
}

// __fmul_rn: the first product is never contracted into anything
template <int K>
__device__ __forceinline__ void linear_combination_body(const LinearTerms& t, const float* __restrict__ coef, act* __restrict__ y, i64 n) {
    float c[K];
#pragma unroll
    for (int j = 0; j < K; j++) c[j] = coef[j];
    GRID_STRIDE(i, n) {
        float acc = __fmul_rn(c[0], ld_term(t.ptr[0], t.dt[0], i));
#pragma unroll
        for (int j = 1; j < K; j++) acc = fmaf(c[j], ld_term(t.ptr[j], t.dt[j], i), acc);
        st(y, i, acc);
    }
}

// Every term in the activation type and every base 16-byte aligned (host check): 16-byte vectors, the n % EW_VEC
// tail element-wise by block 0.
template <int K>
__device__ __forceinline__ void linear_combination_vec_body(const LinearTerms& t, const float* __restrict__ coef, act* __restrict__ y, i64 n) {
    float c[K];
#pragma unroll
    for (int j = 0; j < K; j++) c[j] = coef[j];
    const i64 nv = n / EW_VEC;
    GRID_STRIDE(i, nv) {
        float acc[EW_VEC], v[EW_VEC];
        vec_load<EW_VEC>((const act*) t.ptr[0] + i * EW_VEC, v);
#pragma unroll
        for (int e = 0; e < EW_VEC; e++) acc[e] = __fmul_rn(c[0], v[e]);
#pragma unroll
        for (int j = 1; j < K; j++) {
            vec_load<EW_VEC>((const act*) t.ptr[j] + i * EW_VEC, v);
#pragma unroll
            for (int e = 0; e < EW_VEC; e++) acc[e] = fmaf(c[j], v[e], acc[e]);
        }
        vec_store<EW_VEC>(y + i * EW_VEC, acc);
    }
    if (blockIdx.x == 0)
        for (i64 i = nv * EW_VEC + threadIdx.x; i < n; i += blockDim.x) {
            float acc = __fmul_rn(c[0], ld((const act*) t.ptr[0], i));
#pragma unroll
            for (int j = 1; j < K; j++) acc = fmaf(c[j], ld((const act*) t.ptr[j], i), acc);
            st(y, i, acc);
        }
}

#define LC_DISPATCH(BODY)                            \
    switch (terms.k) {                               \
        case 1: BODY<1>(terms, coef, y, n); break;   \
        case 2: BODY<2>(terms, coef, y, n); break;   \
        case 3: BODY<3>(terms, coef, y, n); break;   \
        case 4: BODY<4>(terms, coef, y, n); break;   \
        case 5: BODY<5>(terms, coef, y, n); break;   \
        case 6: BODY<6>(terms, coef, y, n); break;   \
        case 7: BODY<7>(terms, coef, y, n); break;   \
        default: BODY<8>(terms, coef, y, n); break;  \
    }

extern "C" __global__ void linear_combination(LinearTerms terms, const float* __restrict__ coef, act* __restrict__ y, i64 n) {
    LC_DISPATCH(linear_combination_body)
}

extern "C" __global__ void linear_combination_vec(LinearTerms terms, const float* __restrict__ coef, act* __restrict__ y, i64 n) {
    LC_DISPATCH(linear_combination_vec_body)
}

// ---- NonFiniteFlag: the first loop step whose x held a NaN or +-Inf, kept (an fp32 [1] flag, see NonFiniteFlag.java).
// Two launches: nonfinite_flag_seed copies the previous flag, then nonfinite_flag_scan (nothing to do once the flag is
// set) reads x in its storage type and has every block that saw a bad element store step + 1: the same value, so
// the racing stores agree. Finiteness is tested on the bits, which no fast-math option can fold away. ----
__device__ __forceinline__ bool finite_f32(float v) { return (__float_as_uint(v) & 0x7f800000u) != 0x7f800000u; }

extern "C" __global__ void nonfinite_flag_seed(const float* previous, float* flag) {
    if (blockIdx.x == 0 && threadIdx.x == 0) flag[0] = previous[0];
}

extern "C" __global__ void nonfinite_flag_scan(const void* x, int x_dt, i64 n, const float* previous, const float* step, float* flag) {
    if (previous[0] != 0.f) return;   // the same for every thread of the grid
    int bad = 0;
    GRID_STRIDE(i, n) bad |= !finite_f32(ld_term(x, x_dt, i));
    if (__syncthreads_or(bad) && threadIdx.x == 0) flag[0] = step[0] + 1.f;
}

// Any storage type to any other (Cast, and staging operands into the activation type).
extern "C" __global__ void convert(const void* x, int x_dt, void* y, int y_dt, i64 n) {
    GRID_STRIDE(i, n) st_any(y, y_dt, i, ld_any(x, x_dt, i));
}
