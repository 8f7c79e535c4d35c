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

// Large groups (the UNet's: 10 channels x 16 frames x 88 x 160 = 2.25 M elements, only B x 32 groups) split over
// `chunks` blocks each, so the whole GPU works instead of 64 blocks. Pass 1: per chunk its count, mean and centred
// sum of squares (two passes over the chunk, the second from L2); pass 2: every block merges its group's partials
// (Chan et al.'s pairwise formula: exact, no atomics, deterministic) and normalises its chunk.
extern "C" __global__ void group_norm_partial(const act* x, float* partials, i64 len, int chunks) {
    __shared__ float scratch[32];
    const int group = blockIdx.x / chunks, chunk = blockIdx.x - group * chunks;
    const i64 per = (len + chunks - 1) / chunks, start = chunk * per, end = min(len, start + per);
    const act* p = x + (i64) group * len;
    float s = 0.f;
    for (i64 j = start + threadIdx.x; j < end; j += blockDim.x) s += ld(p, j);
    const float count = (float) (end - start);   // > 0: the host makes chunks of >= 8,192 elements
    const float mean = block_sum(s, scratch) / count;
    float v = 0.f;
    for (i64 j = start + threadIdx.x; j < end; j += blockDim.x) { float t = ld(p, j) - mean; v += t * t; }
    const float m2 = block_sum(v, scratch);
    if (threadIdx.x == 0) {
        partials[3 * blockIdx.x] = count;
        partials[3 * blockIdx.x + 1] = mean;
        partials[3 * blockIdx.x + 2] = m2;
    }
}

extern "C" __global__ void group_norm_apply(const act* x, const act* gamma, const act* beta, act* y, const float* partials,
                                            int channels, int groups, i64 inner, float eps, int silu, int chunks) {
    const int group = blockIdx.x / chunks, chunk = blockIdx.x - group * chunks;
    const int g = group % groups, cpg = channels / groups;
    const i64 len = (i64) cpg * inner, per = (len + chunks - 1) / chunks, start = chunk * per, end = min(len, start + per);
    const float* q = partials + 3 * (i64) group * chunks;
    float n = 0.f, mean = 0.f, m2 = 0.f;
    for (int i = 0; i < chunks; i++) {   // every thread merges the same few partials (L1 broadcast)
        float nb = q[3 * i], mb = q[3 * i + 1], m2b = q[3 * i + 2];
        if (nb == 0.f) continue;
        float nn = n + nb, d = mb - mean;
        mean += d * nb / nn;
        m2 += m2b + d * d * n * nb / nn;
        n = nn;
    }
    const float rstd = rsqrtf(m2 / n + eps);
    const act* p = x + (i64) group * len;
    act* o = y + (i64) group * len;
    for (i64 j = start + threadIdx.x; j < end; j += blockDim.x) {
        int c = g * cpg + (int) ((unsigned long long) j / (unsigned long long) inner);
        float r = (ld(p, j) - mean) * rstd * ld(gamma, c) + ld(beta, c);
        if (silu) r = r / (1.f + expf(-r));
        st(o, j, r);
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
