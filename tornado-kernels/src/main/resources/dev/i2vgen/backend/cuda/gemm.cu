// Helpers around the cuBLASLt GEMMs (GemmLowering): the per-tap weight repack of the temporal convolution and
// its per-channel bias, which cuBLASLt's bias epilogue cannot add (it adds per row of the column-major D, i.e.
// per pixel of our row-major [O, pixels] output).

// w [O, C, k] (a (k,1,1) conv weight, tap fastest) -> taps [k, O, C]: one dense [O, C] GEMM operand per tap.
extern "C" __global__ void repack_taps(const act* w, act* taps, i64 oc, int k) {
    GRID_STRIDE(i, oc * k) {
        i64 j = i / oc, r = i - j * oc;   // output [j][r], r = o * C + c
        taps[i] = w[r * k + j];
    }
}

#if ACT_DTYPE == 0
__device__ __forceinline__ unsigned int add_to_word(unsigned int w, float b) { return __float_as_uint(__uint_as_float(w) + b); }
#else
__device__ __forceinline__ unsigned int add_to_word(unsigned int w, float b) {   // two 16-bit values
    act lo = (act) (w & 0xffffu), hi = (act) (w >> 16);
    act out[2];
    st(out, 0, ld(&lo, 0) + b);
    st(out, 1, ld(&hi, 0) + b);
    return (unsigned int) out[0] | ((unsigned int) out[1] << 16);
}
#endif

struct alignas(16) Words4 { unsigned int w[4]; };

// y[r, p] += bias[r % channels] for `rows` rows of `inner` values (r = image * channels + channel): a block row per
// grid x, so the channel is found once per row, not by a division per element as in bias_channel. vec: every row
// starts 16-byte aligned (y aligned, inner a multiple of 16 bytes), so rows are read and written 16 bytes at a time.
extern "C" __global__ void bias_rows(act* y, const act* bias, i64 rows, i64 channels, i64 inner, int vec) {
    i64 start = (i64) blockIdx.y * blockDim.x + threadIdx.x, step = (i64) gridDim.y * blockDim.x;
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        float b = ld(bias, r % channels);
        act* row = y + r * inner;
        if (vec) {
            Words4* v = (Words4*) row;
            i64 words = inner * (i64) sizeof(act) / 16;
            for (i64 q = start; q < words; q += step) {
                Words4 u = v[q];
#pragma unroll
                for (int j = 0; j < 4; j++) u.w[j] = add_to_word(u.w[j], b);
                v[q] = u;
            }
        } else {
            for (i64 p = start; p < inner; p += step) st(row, p, ld(row, p) + b);
        }
    }
}

// The temporal convolution's k taps as ONE GEMM over every frame, z[b] = taps [k·O, C] · x[b] [C, F·hw] (row j·O + o:
// tap j of output channel o), then shifted and summed here: y[b, o, f, p] = Σ_j z[b, j·O + o, f + j − pad, p] over
// the frames inside [0, F), + bias[o]. The per-tap GEMMs it replaces read and write at an offset of one frame (hw
// values: 440 bytes at 11×20, off cuBLASLt's 16-byte alignment). V values of p per thread (hw % V == 0).
template <int V>
__device__ __forceinline__ void temporal_taps_sum_body(const act* __restrict__ z, const act* __restrict__ bias, act* __restrict__ y,
                                                       int images, int o, int frames, int hw, int k) {
    const int pv = hw / V, pad = (k - 1) / 2;
    const i64 n = (i64) images * o * frames * pv;
    GRID_STRIDE(i, n) {
        const int p = (int) (i % pv);
        i64 r = i / pv;
        const int f = (int) (r % frames);
        r /= frames;
        const int oc = (int) (r % o);
        const i64 b = r / o;
        const float bv = bias != nullptr ? ld(bias, oc) : 0.f;
        float acc[V];
#pragma unroll
        for (int e = 0; e < V; e++) acc[e] = bv;
        for (int j = 0; j < k; j++) {
            const int fi = f + j - pad;
            if (fi < 0 || fi >= frames) continue;
            float t[V];
            vec_load<V>(z + (((b * k + j) * o + oc) * frames + fi) * (i64) hw + (i64) p * V, t);
#pragma unroll
            for (int e = 0; e < V; e++) acc[e] += t[e];
        }
        vec_store<V>(y + ((b * o + oc) * frames + f) * (i64) hw + (i64) p * V, acc);
    }
}

#define TEMPORAL_TAPS_SUM(V) \
    extern "C" __global__ void temporal_taps_sum_v##V(const act* __restrict__ z, const act* __restrict__ bias, act* __restrict__ y, \
                                                      int images, int o, int frames, int hw, int k) { \
        temporal_taps_sum_body<V>(z, bias, y, images, o, frames, hw, k); \
    }
TEMPORAL_TAPS_SUM(1)
TEMPORAL_TAPS_SUM(2)
TEMPORAL_TAPS_SUM(4)
#if ACT_DTYPE != 0
TEMPORAL_TAPS_SUM(8)
#endif
