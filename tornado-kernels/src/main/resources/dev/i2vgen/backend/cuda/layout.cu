// Data movement: strided block copies (concat, slice), permute, nearest upsampling, im2col for
// convolutions, embedding lookup and the sinusoidal timestep embedding.

// dst[r, dst_off + j] = src[r, src_off + j] for r < rows, j < len: one concat part or one slice.
extern "C" __global__ void copy_rows(const act* src, i64 src_row, i64 src_off, act* dst, i64 dst_row, i64 dst_off,
                                     i64 rows, i64 len) {
    GRID_STRIDE(i, rows * len) {
        i64 r = i / len, j = i - r * len;
        dst[r * dst_row + dst_off + j] = src[r * src_row + src_off + j];
    }
}

#define MAX_RANK 8
struct Permutation {
    i64 out_dims[MAX_RANK];
    i64 in_strides[MAX_RANK];   // stride in the input of each output axis
    int rank;
};

extern "C" __global__ void permute(const act* x, act* y, i64 n, Permutation p) {
    GRID_STRIDE(i, n) {
        i64 rest = i, src = 0;
        for (int d = p.rank - 1; d >= 0; d--) {
            i64 c = rest % p.out_dims[d];
            rest /= p.out_dims[d];
            src += c * p.in_strides[d];
        }
        y[i] = x[src];
    }
}

// PyTorch 'nearest': src = min(floor(dst * (in / out)), in - 1) with the scale in fp32.
extern "C" __global__ void upsample_nearest(const act* x, act* y, i64 planes, int in_h, int in_w, int out_h, int out_w) {
    float sh = (float) in_h / (float) out_h, sw = (float) in_w / (float) out_w;
    GRID_STRIDE(i, planes * out_h * out_w) {
        i64 p = i / ((i64) out_h * out_w);
        int r = (int) (i - p * out_h * out_w);
        int oy = r / out_w, ox = r - oy * out_w;
        int iy = min((int) floorf(oy * sh), in_h - 1), ix = min((int) floorf(ox * sw), in_w - 1);
        y[i] = x[(p * in_h + iy) * in_w + ix];
    }
}

// col[n][(c, ky, kx)][(oy, ox)] from x[n, c, h, w], zero outside the padded border.
// Block (32, 8): each threadIdx.y walks whole output rows (n, c, ky, kx, oy), its 32 lanes striding along ox,
// so a row's index is decoded once (32-bit: the host bounds one launch to < 2^31 elements) instead of five
// 64-bit divisions per element, which made the element-wise version ~35x slower than its memory traffic.
extern "C" __global__ void im2col(const act* x, act* col, int images, int c, int h, int w, int kh, int kw,
                                  int stride_h, int stride_w, int pad_t, int pad_l, int oh, int ow) {
    const unsigned rows = (unsigned) images * c * kh * kw * oh;
    for (unsigned row = blockIdx.x * blockDim.y + threadIdx.y; row < rows; row += gridDim.x * blockDim.y) {
        unsigned r = row;
        const int oy = (int) (r % oh); r /= oh;
        const int kx = (int) (r % kw); r /= kw;
        const int ky = (int) (r % kh); r /= kh;
        const unsigned nc = r;                      // n * c + ch
        const int iy = oy * stride_h - pad_t + ky;
        act* dst = col + (i64) row * ow;
        if (iy < 0 || iy >= h) {
            for (int ox = threadIdx.x; ox < ow; ox += 32) dst[ox] = (act) 0;
            continue;
        }
        const act* src = x + ((i64) nc * h + iy) * w;
        for (int ox = threadIdx.x; ox < ow; ox += 32) {
            int ix = ox * stride_w - pad_l + kx;
            dst[ox] = (ix >= 0 && ix < w) ? src[ix] : (act) 0;
        }
    }
}

// out[i, :] = table[ids[i], :]; ids out of range give a NaN row so the error cannot pass unseen.
extern "C" __global__ void embedding(const act* table, const void* ids, int ids_dt, act* y, i64 count, i64 vocab, i64 d) {
    GRID_STRIDE(i, count * d) {
        i64 t = i / d, j = i - t * d;
        i64 id = (i64) ld_any(ids, ids_dt, t);
        if (id < 0 || id >= vocab) st(y, i, __int_as_float(0x7fc00000));
        else y[i] = table[id * d + j];
    }
}

// diffusers get_timestep_embedding, computed in fp32 in the same order as the PyTorch code.
extern "C" __global__ void timestep_embedding(const void* t, int t_dt, act* y, int batch, int dim, int flip,
                                              float shift, float scale, float log_max_period) {
    int half = dim / 2;
    GRID_STRIDE(i, (i64) batch * dim) {
        int b = (int) (i / dim), j = (int) (i - (i64) b * dim);
        float out = 0.f;
        if (j < 2 * half) {
            int k = j < half ? j : j - half;
            float freq = expf(-log_max_period * (float) k / ((float) half - shift));
            float arg = scale * ((float) ld_any(t, t_dt, b) * freq);
            bool first = j < half;
            bool use_sin = flip ? !first : first;
            out = use_sin ? sinf(arg) : cosf(arg);
        }
        st(y, i, out);
    }
}
