package dev.i2vgen.backend.tornado.kernels;

import uk.ac.manchester.tornado.api.annotations.Parallel;
import uk.ac.manchester.tornado.api.math.TornadoMath;
import uk.ac.manchester.tornado.api.types.arrays.FloatArray;
import uk.ac.manchester.tornado.api.types.arrays.IntArray;

/**
 * Element-wise kernels, one {@code @Parallel} loop over the output each. Every kernel reads its sizes and element
 * offsets from the task's int parameters {@code p} (and scalars from {@code f}) rather than from primitive arguments:
 * TornadoVM folds primitive arguments into the kernel source, which made every task a separate driver compile
 * (0.4 s each on PoCL); read from a buffer, every task of one kernel has the same source, compiled once.
 * Tensors are (array, offset) pairs: the plan's activation arena or a weight's own array. In every kernel the output
 * array is the last parameter: the arena is often passed several times, and TornadoVM 5.2's task scheduler never
 * finishes on a task that reads an array after the parameter it writes.
 */
public final class ElementwiseKernels {
    private ElementwiseKernels() {}

    /** p: x, y, n, kind (the ordinal of Unary.Kind: SILU, GELU, GELU_TANH, QUICK_GELU, EXP, SIGMOID, TANH). */
    public static void unary(IntArray p, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), n = p.get(2), kind = p.get(3);
        for (@Parallel int i = 0; i < n; i++) {
            float v = x.get(xo + i);
            float r;
            if (kind == 0) {
                r = v * KernelMath.sigmoid(v);
            } else if (kind == 1) {
                r = KernelMath.gelu(v);
            } else if (kind == 2) {
                r = 0.5f * v * (1.0f + TornadoMath.tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
            } else if (kind == 3) {
                r = v * KernelMath.sigmoid(1.702f * v);
            } else if (kind == 4) {
                r = TornadoMath.exp(v);
            } else if (kind == 5) {
                r = KernelMath.sigmoid(v);
            } else {
                r = TornadoMath.tanh(v);
            }
            y.set(yo + i, r);
        }
    }

    /** p: x, y, n; f: scale, shift, low, high (affine when p[3] = 0, clamp when 1). */
    public static void affineOrClamp(IntArray p, FloatArray f, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), n = p.get(2), clamp = p.get(3);
        float scale = f.get(0), shift = f.get(1), lo = f.get(2), hi = f.get(3);
        for (@Parallel int i = 0; i < n; i++) {
            float v = x.get(xo + i);
            y.set(yo + i, clamp == 1 ? TornadoMath.min(TornadoMath.max(v, lo), hi) : v * scale + shift);
        }
    }

    /**
     * p: a, b, y, n, kind (ADD, SUB, MUL, DIV), rank, then dims[rank], the element strides of a aligned to the output
     * (0 where broadcast) and those of b.
     */
    public static void binary(IntArray p, FloatArray a, FloatArray b, FloatArray y) {
        int ao = p.get(0), bo = p.get(1), yo = p.get(2), n = p.get(3), kind = p.get(4), rank = p.get(5);
        for (@Parallel int i = 0; i < n; i++) {
            int rest = i, ia = 0, ib = 0;
            for (int d = rank - 1; d >= 0; d--) {
                int dim = p.get(6 + d);
                int c = rest % dim;
                rest = rest / dim;
                ia += c * p.get(6 + rank + d);
                ib += c * p.get(6 + 2 * rank + d);
            }
            float u = a.get(ao + ia), v = b.get(bo + ib), r;
            if (kind == 0) {
                r = u + v;
            } else if (kind == 1) {
                r = u - v;
            } else if (kind == 2) {
                r = u * v;
            } else {
                r = u / v;
            }
            y.set(yo + i, r);
        }
    }

    /** p: x, y, rows, d: x[rows, 2d] → x[:, :d] · gelu(x[:, d:]). */
    public static void geglu(IntArray p, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), rows = p.get(2), d = p.get(3);
        for (@Parallel int i = 0; i < rows * d; i++) {
            int r = i / d, j = i % d;
            y.set(yo + i, x.get(xo + r * 2 * d + j) * KernelMath.gelu(x.get(xo + r * 2 * d + d + j)));
        }
    }

    /** p: x, y, n; f: guidance. x holds the unconditional half, then the conditional half. */
    public static void cfgCombine(IntArray p, FloatArray f, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), n = p.get(2);
        float guidance = f.get(0);
        for (@Parallel int i = 0; i < n; i++) {
            float u = x.get(xo + i), c = x.get(xo + n + i);
            y.set(yo + i, u + guidance * (c - u));
        }
    }

    /**
     * p: x, m, coef, noise, hasNoise, y, n. See DdimStep: coef = {sqrt(a_t), sqrt(1-a_t), sqrt(a_prev), dir, sigma,
     * prediction type, clip range}.
     */
    public static void ddimStep(IntArray p, FloatArray x, FloatArray m, FloatArray coef, FloatArray noise, FloatArray y) {
        int xo = p.get(0), mo = p.get(1), co = p.get(2), no = p.get(3), hasNoise = p.get(4), yo = p.get(5), n = p.get(6);
        float at = coef.get(co), bt = coef.get(co + 1), aPrev = coef.get(co + 2), dir = coef.get(co + 3), sigma = coef.get(co + 4);
        float typeValue = coef.get(co + 5), clip = coef.get(co + 6);
        int type = (int) TornadoMath.floor(typeValue + 0.5f);
        for (@Parallel int i = 0; i < n; i++) {
            float xv = x.get(xo + i), mv = m.get(mo + i), x0, eps;
            if (type == 0) {
                x0 = (xv - bt * mv) / at;
                eps = mv;
            } else if (type == 1) {
                x0 = at * xv - bt * mv;
                eps = at * mv + bt * xv;
            } else {
                x0 = mv;
                eps = (xv - at * x0) / bt;
            }
            if (clip > 0) x0 = TornadoMath.min(TornadoMath.max(x0, -clip), clip);   // epsilon is kept as derived
            float prev = aPrev * x0 + dir * eps;
            if (hasNoise == 1 && sigma > 0) prev = prev + sigma * noise.get(no + i);
            y.set(yo + i, prev);
        }
    }

    /**
     * p: c, k, t0..t7, y, n. y = Σ c[j]·t_j over k ≤ 8 terms in LinearCombination's order: c0·t0, then c_j·t_j + acc,
     * which TornadoVM's FMA phase emits as fma (on by default, {@code tornado.enable.fma}): one rounding per term.
     */
    public static void linearCombination(IntArray p, FloatArray c, FloatArray t0, FloatArray t1, FloatArray t2, FloatArray t3,
                                         FloatArray t4, FloatArray t5, FloatArray t6, FloatArray t7, FloatArray y) {
        int co = p.get(0), k = p.get(1), yo = p.get(10), n = p.get(11);
        int o0 = p.get(2), o1 = p.get(3), o2 = p.get(4), o3 = p.get(5), o4 = p.get(6), o5 = p.get(7), o6 = p.get(8), o7 = p.get(9);
        float c0 = c.get(co), c1 = c.get(co + 1), c2 = c.get(co + 2), c3 = c.get(co + 3);
        float c4 = c.get(co + 4), c5 = c.get(co + 5), c6 = c.get(co + 6), c7 = c.get(co + 7);
        for (@Parallel int i = 0; i < n; i++) {
            // + 0: the first term must not be a bare product, or the FMA phase may fuse it with the second
            float acc = c0 * t0.get(o0 + i) + 0.0f;
            if (k > 1) acc = c1 * t1.get(o1 + i) + acc;
            if (k > 2) acc = c2 * t2.get(o2 + i) + acc;
            if (k > 3) acc = c3 * t3.get(o3 + i) + acc;
            if (k > 4) acc = c4 * t4.get(o4 + i) + acc;
            if (k > 5) acc = c5 * t5.get(o5 + i) + acc;
            if (k > 6) acc = c6 * t6.get(o6 + i) + acc;
            if (k > 7) acc = c7 * t7.get(o7 + i) + acc;
            y.set(yo + i, acc);
        }
    }

    /** p: previous, flag: the first launch of NonFiniteFlag copies the previous flag (one work-item). */
    public static void nonFiniteSeed(IntArray p, FloatArray previous, FloatArray flag) {
        int po = p.get(0), fo = p.get(1), n = p.get(2);
        for (@Parallel int i = 0; i < n; i++) flag.set(fo + i, previous.get(po + i));
    }

    /**
     * p: x, previous, step, flag, n. See NonFiniteFlag: flag = previous where already set, else step + 1 where x holds
     * a NaN or ±Inf (after {@link #nonFiniteSeed}). Work-items that find a bad element all store the same value.
     */
    public static void nonFiniteScan(IntArray p, FloatArray x, FloatArray previous, FloatArray step, FloatArray flag) {
        int xo = p.get(0), po = p.get(1), so = p.get(2), fo = p.get(3), n = p.get(4);
        float before = previous.get(po);
        float mark = step.get(so) + 1.0f;
        for (@Parallel int i = 0; i < n; i++) {
            // written as two ordered tests: TornadoVM 5.2 emits !(a <= b) as b < a, false for NaN
            float v = x.get(xo + i);
            boolean nan = v != v;
            boolean inf = TornadoMath.abs(v) > 3.4028235e38f;
            if (before == 0.0f && (nan || inf)) flag.set(fo, mark);
        }
    }

    /** p: x, y, n, truncate (1 for integer targets: toward zero; float targets are rounded by the plan's dtype check). */
    public static void cast(IntArray p, FloatArray x, FloatArray y) {
        int xo = p.get(0), yo = p.get(1), n = p.get(2), truncate = p.get(3);
        for (@Parallel int i = 0; i < n; i++) {
            float v = x.get(xo + i);
            y.set(yo + i, truncate == 1 ? (v < 0 ? TornadoMath.ceil(v) : TornadoMath.floor(v)) : v);
        }
    }
}
