// Element-wise kernels: one work-item per output element.

// kind: the ordinal of Unary.Kind (SILU, GELU, GELU_TANH, QUICK_GELU, EXP, SIGMOID, TANH).
__kernel void unary(BUF(x), BUF(y), const long n, const int kind) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(y);
    float v = x[i], r;
    switch (kind) {
        case 0: r = v * sigmoid_f(v); break;
        case 1: r = gelu_erf(v); break;
        case 2: r = 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v))); break;
        case 3: r = v * sigmoid_f(1.702f * v); break;
        case 4: r = exp(v); break;
        case 5: r = sigmoid_f(v); break;
        default: r = tanh(v); break;
    }
    y[i] = r;
}

__kernel void affine(BUF(x), BUF(y), const long n, const float scale, const float shift) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(y);
    y[i] = x[i] * scale + shift;
}

__kernel void clamp_values(BUF(x), BUF(y), const long n, const float lo, const float hi) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(y);
    y[i] = fmin(fmax(x[i], lo), hi);
}

inline float binary_op(float a, float b, int kind) {
    switch (kind) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        default: return a / b;
    }
}

// layout: rank, then dims[rank], then the element strides of a and b aligned to the output (0 where broadcast).
__kernel void binary(BUF(a), BUF(b), BUF(y), __global const long* layout, const long n, const int kind) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(a); OFF(b); OFF(y);
    int rank = (int) layout[0];
    long rest = i, ia = 0, ib = 0;
    for (int d = rank - 1; d >= 0; d--) {
        long dim = layout[1 + d];
        long c = rest % dim;
        rest /= dim;
        ia += c * layout[1 + rank + d];
        ib += c * layout[1 + 2 * rank + d];
    }
    y[i] = binary_op(a[ia], b[ib], kind);
}

// x[rows, 2d] -> x[:, :d] * gelu_erf(x[:, d:])
__kernel void geglu(BUF(x), BUF(y), const long rows, const long d) {
    long i = get_global_id(0);
    if (i >= rows * d) return;
    OFF(x); OFF(y);
    long r = i / d, j = i % d;
    y[i] = x[r * 2 * d + j] * gelu_erf(x[r * 2 * d + d + j]);
}

// x[2M, ...]: unconditional half, then conditional half.
__kernel void cfg_combine(BUF(x), BUF(y), const long n, const float guidance) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(y);
    float u = x[i], c = x[i + n];
    y[i] = u + guidance * (c - u);
}

// See DdimStep: coef = {sqrt(a_t), sqrt(1-a_t), sqrt(a_prev), dir, sigma, prediction type, clip range}.
__kernel void ddim_step(BUF(x), BUF(m), BUF(coef), BUF(noise), const int hasNoise, BUF(y), const long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(m); OFF(coef); OFF(noise); OFF(y);
    float at = coef[0], bt = coef[1], aPrev = coef[2], dir = coef[3], sigma = coef[4], clip = coef[6];
    int type = (int) rint(coef[5]);
    float xv = x[i], mv = m[i], x0, eps;
    if (type == 0) { x0 = (xv - bt * mv) / at; eps = mv; }
    else if (type == 1) { x0 = at * xv - bt * mv; eps = at * mv + bt * xv; }
    else { x0 = mv; eps = (xv - at * x0) / bt; }
    if (clip > 0) x0 = fmin(fmax(x0, -clip), clip);   // epsilon is kept as derived
    float prev = aPrev * x0 + dir * eps;
    if (hasNoise && sigma > 0) prev += sigma * noise[i];
    y[i] = prev;
}

// See LinearCombination: y = sum_j c[j] * t_j over k <= 8 terms (slots past k are not read), in the order every
// backend uses: acc = c0 * t0, then acc = fma(c_j, t_j, acc); fma is correctly rounded in OpenCL C.
__kernel void linear_combination(BUF(c), const int k, BUF(t0), BUF(t1), BUF(t2), BUF(t3), BUF(t4), BUF(t5), BUF(t6), BUF(t7),
                                 BUF(y), const long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(c); OFF(t0); OFF(t1); OFF(t2); OFF(t3); OFF(t4); OFF(t5); OFF(t6); OFF(t7); OFF(y);
    float acc = c[0] * t0[i];
    if (k > 1) acc = fma(c[1], t1[i], acc);
    if (k > 2) acc = fma(c[2], t2[i], acc);
    if (k > 3) acc = fma(c[3], t3[i], acc);
    if (k > 4) acc = fma(c[4], t4[i], acc);
    if (k > 5) acc = fma(c[5], t5[i], acc);
    if (k > 6) acc = fma(c[6], t6[i], acc);
    if (k > 7) acc = fma(c[7], t7[i], acc);
    y[i] = acc;
}

// See NonFiniteFlag: flag = previous where already set, else step + 1 where x holds a NaN or +-Inf, else 0. Two
// launches: nonfinite_flag_seed copies the previous flag, then every work-item of nonfinite_flag_scan that reads a
// bad element stores step + 1 (the same value, so the racing stores agree). Tested on the bits (no fast-math folding).
__kernel void nonfinite_flag_seed(BUF(previous), BUF(flag)) {
    if (get_global_id(0) != 0) return;
    OFF(previous); OFF(flag);
    flag[0] = previous[0];
}

__kernel void nonfinite_flag_scan(BUF(x), BUF(previous), BUF(step), BUF(flag), const long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(previous); OFF(step); OFF(flag);
    if (previous[0] == 0.0f && (as_uint(x[i]) & 0x7f800000u) == 0x7f800000u) flag[0] = step[0] + 1.0f;
}

// Cast: a copy, truncated toward zero for integer targets (float targets are rounded by round_to afterwards).
__kernel void cast_values(BUF(x), BUF(y), const long n, const int truncate) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(y);
    y[i] = truncate ? trunc(x[i]) : x[i];
}

// Rounds fp32 values in place to the precision of mode 1 (fp16, round to nearest even) or 2 (bf16, same).
__kernel void round_to(BUF(x), const long n, const int mode) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x);
    float v = x[i];
    if (mode == 1) {
        // fp16: 11 significant bits, subnormal below 2^-14, overflow to infinity from 65520 on;
        // scaling by powers of two is exact, so rint (ties to even) rounds like a conversion would
        float a = fabs(v);
        if (isnan(v) || isinf(v)) return;
        if (a >= 65520.0f) { x[i] = copysign(INFINITY, v); return; }
        int e = a < 0x1p-14f ? -14 : ilogb(a);
        x[i] = ldexp(rint(ldexp(v, 10 - e)), e - 10);
    } else if (!isnan(v)) {
        uint bits = as_uint(v);
        bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
        x[i] = as_float(bits);
    }
}

// Per-row (or per-column) bias: y[r, c] += bias[(index / period) % count].
__kernel void add_channel_bias(BUF(y), BUF(bias), const long n, const long period, const long count) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(y); OFF(bias);
    y[i] += bias[(i / period) % count];
}
