// Row reductions: one work-group of RED_WG work-items per row; mean first, then the biased variance
// of the deviations (two passes, as accurate as the JVM backend's).

__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1)))
void layer_norm(BUF(x), BUF(gamma), BUF(beta), BUF(y), const long d, const float eps) {
    __local float scratch[RED_WG];
    OFF(x); OFF(gamma); OFF(beta); OFF(y);
    long row = get_group_id(0);
    int l = get_local_id(0);
    __global float* xr = x + row * d;
    __global float* yr = y + row * d;
    float s = 0;
    for (long j = l; j < d; j += RED_WG) s += xr[j];
    float mean = group_sum(s, scratch) / d;
    float q = 0;
    for (long j = l; j < d; j += RED_WG) { float t = xr[j] - mean; q += t * t; }
    float inv = 1.0f / sqrt(group_sum(q, scratch) / d + eps);
    for (long j = l; j < d; j += RED_WG) yr[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
}

// One work-group per (image, group) of x[n, mid, channels, inner]: the group is its mid segments of channels/groups ·
// inner contiguous elements at a stride of channels · inner ([N, C, *] is mid = 1; a frame-major video [B, F, C, h, w]
// has mid = F).
__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1)))
void group_norm(BUF(x), BUF(gamma), BUF(beta), BUF(y), const int channels, const int groups, const long inner,
                const long mid, const float eps, const int silu) {
    __local float scratch[RED_WG];
    OFF(x); OFF(gamma); OFF(beta); OFF(y);
    long ng = get_group_id(0);
    long image = ng / groups;
    int g = (int) (ng % groups);
    int l = get_local_id(0);
    int perGroup = channels / groups;
    long seg = (long) perGroup * inner, stride = (long) channels * inner, len = mid * seg;
    __global float* xr = x + image * mid * stride + g * seg;
    __global float* yr = y + image * mid * stride + g * seg;
    float s = 0;
    for (long m = 0; m < mid; m++)
        for (long j = l; j < seg; j += RED_WG) s += xr[m * stride + j];
    float mean = group_sum(s, scratch) / len;
    float q = 0;
    for (long m = 0; m < mid; m++)
        for (long j = l; j < seg; j += RED_WG) { float t = xr[m * stride + j] - mean; q += t * t; }
    float inv = 1.0f / sqrt(group_sum(q, scratch) / len + eps);
    for (long m = 0; m < mid; m++) {
        for (long j = l; j < seg; j += RED_WG) {
            int c = g * perGroup + (int) (j / inner);
            float v = (xr[m * stride + j] - mean) * inv * gamma[c] + beta[c];
            yr[m * stride + j] = silu ? v * sigmoid_f(v) : v;
        }
    }
}

__kernel __attribute__((reqd_work_group_size(RED_WG, 1, 1)))
void softmax(BUF(x), BUF(y), const long d) {
    __local float scratch[RED_WG];
    OFF(x); OFF(y);
    long row = get_group_id(0);
    int l = get_local_id(0);
    __global float* xr = x + row * d;
    __global float* yr = y + row * d;
    float m = -INFINITY;
    for (long j = l; j < d; j += RED_WG) m = fmax(m, xr[j]);
    m = group_max(m, scratch);
    float s = 0;
    for (long j = l; j < d; j += RED_WG) s += exp(xr[j] - m);
    float inv = 1.0f / group_sum(s, scratch);
    for (long j = l; j < d; j += RED_WG) yr[j] = exp(xr[j] - m) * inv;
}
