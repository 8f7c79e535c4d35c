// Data movement and lookups: exact copies, one work-item per output element.

// diffusers' get_timestep_embedding; t[batch] -> out[batch, dim] (frequencies rounded to float as in torch).
__kernel void timestep_embedding(BUF(t), BUF(y), const int batch, const int dim, const int flip,
                                 const float shift, const float scale, const float negLogPeriod) {
    long i = get_global_id(0);
    if (i >= (long) batch * dim) return;
    OFF(t); OFF(y);
    int b = (int) (i / dim), j = (int) (i % dim), halfDim = dim / 2;
    if (j >= 2 * halfDim) { y[i] = 0.0f; return; }   // odd dim: zero padding
    int f = j < halfDim ? j : j - halfDim;
    float freq = exp((negLogPeriod * f) / (halfDim - shift));
    float arg = scale * (t[b] * freq);
    bool first = j < halfDim;
    y[i] = (first != (flip != 0)) ? sin(arg) : cos(arg);
}

// out[i, :] = table[ids[i], :]; an id outside [0, vocab) yields NaN (checked on the host for inputs it sees).
__kernel void embedding(BUF(table), BUF(ids), BUF(y), const long count, const long vocab, const long d) {
    long i = get_global_id(0);
    if (i >= count * d) return;
    OFF(table); OFF(ids); OFF(y);
    long r = i / d, j = i % d;
    float f = ids[r];
    long id = (long) f;
    y[i] = (id >= 0 && id < vocab && (float) id == f) ? table[id * d + j] : NAN;
}

// rows x len elements: dst[r * dstRow + dstOff + j] = src[r * srcRow + srcOff + j] (concat and slice).
__kernel void copy_rows(BUF(src), const long srcRow, const long srcOff, BUF(dst), const long dstRow, const long dstOff,
                        const long rows, const long len) {
    long i = get_global_id(0);
    if (i >= rows * len) return;
    OFF(src); OFF(dst);
    long r = i / len, j = i % len;
    dst[r * dstRow + dstOff + j] = src[r * srcRow + srcOff + j];
}

// layout: rank, output dims[rank], input strides of each output axis[rank].
__kernel void permute(BUF(x), BUF(y), __global const long* layout, const long n) {
    long i = get_global_id(0);
    if (i >= n) return;
    OFF(x); OFF(y);
    int rank = (int) layout[0];
    long rest = i, src = 0;
    for (int d = rank - 1; d >= 0; d--) {
        long dim = layout[1 + d];
        src += (rest % dim) * layout[1 + rank + d];
        rest /= dim;
    }
    y[i] = x[src];
}

// PyTorch 'nearest': source index = floor(dst * in / out).
__kernel void upsample_nearest(BUF(x), BUF(y), const long planes, const int h, const int w, const int oh, const int ow) {
    long i = get_global_id(0);
    if (i >= planes * oh * ow) return;
    OFF(x); OFF(y);
    long p = i / ((long) oh * ow);
    int r = (int) (i % ((long) oh * ow));
    int oy = r / ow, ox = r % ow;
    int sy = (int) (((long) oy * h) / oh), sx = (int) (((long) ox * w) / ow);
    y[i] = x[(p * h + sy) * w + sx];
}

// col[img][(c*kh + ky)*kw + kx][oy*ow + ox] = x[img][c][oy*sh - padT + ky][ox*sw - padL + kx], 0 outside.
__kernel void im2col(BUF(x), BUF(col), const int images, const int c, const int h, const int w, const int kh, const int kw,
                     const int sh, const int sw, const int padT, const int padL, const int oh, const int ow) {
    long i = get_global_id(0);
    long pixels = (long) oh * ow, kdim = (long) c * kh * kw;
    if (i >= images * kdim * pixels) return;
    OFF(x); OFF(col);
    long p = i % pixels, rest = i / pixels;
    long k = rest % kdim, img = rest / kdim;
    int kx = (int) (k % kw), ky = (int) ((k / kw) % kh), ch = (int) (k / ((long) kw * kh));
    int oy = (int) (p / ow), ox = (int) (p % ow);
    int iy = oy * sh - padT + ky, ix = ox * sw - padL + kx;
    col[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((img * c + ch) * h + iy) * w + ix] : 0.0f;
}
