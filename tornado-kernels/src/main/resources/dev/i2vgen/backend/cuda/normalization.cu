// Row reductions: LayerNorm, GroupNorm (+SiLU), softmax. One block per row/group; statistics in fp32,
// two passes (mean, then centred variance) as PyTorch's reference does, for accuracy on long rows.

// x[rows, d]; gamma, beta [d].
extern "C" __global__ void layer_norm(const act* x, const act* gamma, const act* beta, act* y, i64 d, float eps) {
    __shared__ float scratch[32];
    const act* row = x + blockIdx.x * d;
    act* out = y + blockIdx.x * d;
    float s = 0.f;
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) s += ld(row, j);
    float mean = block_sum(s, scratch) / (float) d;
    float v = 0.f;
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) { float t = ld(row, j) - mean; v += t * t; }
    float rstd = rsqrtf(block_sum(v, scratch) / (float) d + eps);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) st(out, j, (ld(row, j) - mean) * rstd * ld(gamma, j) + ld(beta, j));
}

// x[n, channels, inner]; block = one (n, group) whose channels are contiguous: channels/groups * inner elements.
extern "C" __global__ void group_norm(const act* x, const act* gamma, const act* beta, act* y,
                                      int channels, int groups, i64 inner, float eps, int silu) {
    __shared__ float scratch[32];
    int g = blockIdx.x % groups;
    int cpg = channels / groups;
    i64 len = (i64) cpg * inner;
    i64 base = (i64) blockIdx.x * len;
    float s = 0.f;
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) s += ld(x, base + j);
    float mean = block_sum(s, scratch) / (float) len;
    float v = 0.f;
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) { float t = ld(x, base + j) - mean; v += t * t; }
    float rstd = rsqrtf(block_sum(v, scratch) / (float) len + eps);
    for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
        int c = g * cpg + (int) (j / inner);
        float o = (ld(x, base + j) - mean) * rstd * ld(gamma, c) + ld(beta, c);
        if (silu) o = o / (1.f + expf(-o));
        st(y, base + j, o);
    }
}

// Softmax over rows of length d.
extern "C" __global__ void softmax(const act* x, act* y, i64 d) {
    __shared__ float scratch[32];
    const act* row = x + blockIdx.x * d;
    act* out = y + blockIdx.x * d;
    float m = __int_as_float(0xff800000);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) m = fmaxf(m, ld(row, j));
    m = block_max(m, scratch);
    float s = 0.f;
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) s += expf(ld(row, j) - m);
    float inv = 1.f / block_sum(s, scratch);
    for (i64 j = threadIdx.x; j < d; j += blockDim.x) st(out, j, expf(ld(row, j) - m) * inv);
}
