// Shared by every kernel family. Every tensor is fp32 on the device and passed as a buffer plus the
// element offset of the tensor inside it (planned intermediates share one buffer).
#define BUF(n) __global float* n, const long n##_off
#define OFF(n) n += n##_off

// Reductions run one work-group of RED_WG work-items per row.
#define RED_WG 64

inline float gelu_erf(float x) { return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f)); }

inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp(-x)); }

// Sum of v over the work-group (all RED_WG work-items must call it); scratch holds RED_WG floats.
inline float group_sum(float v, __local float* scratch) {
    int l = get_local_id(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = RED_WG / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] += scratch[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

inline float group_max(float v, __local float* scratch) {
    int l = get_local_id(0);
    scratch[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = RED_WG / 2; s > 0; s >>= 1) {
        if (l < s) scratch[l] = fmax(scratch[l], scratch[l + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
