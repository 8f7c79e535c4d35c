// Multi-head attention with an online softmax over key tiles: the score matrix never exists. One work-item
// per query row and head, ATT_WG rows per work-group sharing each tile of K and V in local memory.
// Heads are interleaved in the last axis: q[B, Lq, H*dk], k[B, Lk, H*dk], v[B, Lk, H*dv], out[B, Lq, H*dv].
// The running output accumulates in out itself (each row is owned by one work-item).
#define ATT_WG 32
#define MAX_TILE 32

__kernel __attribute__((reqd_work_group_size(ATT_WG, 1, 1)))
void attention(BUF(q), BUF(k), BUF(v), BUF(o), const int lq, const int lk, const int heads, const int dk, const int dv,
               const float scale, const int causal, const int tile, __local float* kt, __local float* vt) {
    OFF(q); OFF(k); OFF(v); OFF(o);
    int i = get_global_id(0);
    int bh = get_global_id(1);
    int b = bh / heads, h = bh % heads;
    int li = get_local_id(0);
    bool active = i < lq;
    long kRow = (long) heads * dk, vRow = (long) heads * dv;
    __global float* qi = q + ((long) b * lq + (active ? i : 0)) * kRow + (long) h * dk;
    __global float* oi = o + ((long) b * lq + (active ? i : 0)) * vRow + (long) h * dv;
    __global float* kb = k + (long) b * lk * kRow + (long) h * dk;
    __global float* vb = v + (long) b * lk * vRow + (long) h * dv;
    if (active) for (int d = 0; d < dv; d++) oi[d] = 0.0f;
    // causal: the last row of this work-group sees keys up to its index; every work-item runs the same tiles
    int end = causal ? min(lk, (int) (get_group_id(0) + 1) * ATT_WG) : lk;
    float m = -INFINITY, l = 0.0f;
    float s[MAX_TILE];
    for (int j0 = 0; j0 < end; j0 += tile) {
        int cnt = min(tile, end - j0);
        for (int idx = li; idx < cnt * dk; idx += ATT_WG) kt[idx] = kb[(long) (j0 + idx / dk) * kRow + idx % dk];
        for (int idx = li; idx < cnt * dv; idx += ATT_WG) vt[idx] = vb[(long) (j0 + idx / dv) * vRow + idx % dv];
        barrier(CLK_LOCAL_MEM_FENCE);
        int visible = causal ? min(cnt, i - j0 + 1) : cnt;
        if (active && visible > 0) {
            float tileMax = -INFINITY;
            for (int jj = 0; jj < visible; jj++) {
                float acc = 0.0f;
                for (int d = 0; d < dk; d++) acc += qi[d] * kt[jj * dk + d];
                s[jj] = acc * scale;
                tileMax = fmax(tileMax, s[jj]);
            }
            float mNew = fmax(m, tileMax);
            float corr = exp(m - mNew);
            float sum = 0.0f;
            for (int jj = 0; jj < visible; jj++) { s[jj] = exp(s[jj] - mNew); sum += s[jj]; }
            l = l * corr + sum;
            for (int d = 0; d < dv; d++) {
                float acc = oi[d] * corr;
                for (int jj = 0; jj < visible; jj++) acc += s[jj] * vt[jj * dv + d];
                oi[d] = acc;
            }
            m = mNew;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (active) {
        float inv = 1.0f / l;
        for (int d = 0; d < dv; d++) oi[d] *= inv;
    }
}
