package dev.i2vgen.backend.jvm.kernels;

import dev.i2vgen.backend.jvm.F32;
import dev.i2vgen.backend.jvm.Parallel;
import dev.i2vgen.graph.ops.Binary;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;

/**
 * a ∘ b with NumPy broadcasting. The output is walked row by row (last axis); each operand's row is
 * either contiguous or a broadcast scalar, so the inner loop is vectorised in both cases.
 */
public final class BinaryKernel {
    private BinaryKernel() {}

    public static void run(Binary.Kind kind, MemorySegment a, int[] as, MemorySegment b, int[] bs, MemorySegment out, int[] os) {
        int r = os.length;
        long[] sa = broadcastStrides(as, os), sb = broadcastStrides(bs, os);
        int last = r == 0 ? 1 : os[r - 1];
        long rows = F32.numel(os) / Math.max(last, 1);
        long la = r == 0 ? 0 : sa[r - 1], lb = r == 0 ? 0 : sb[r - 1];
        Parallel.forRange((int) rows, Math.max(1, 8192 / Math.max(last, 1)), (r0, r1) -> {
            for (long row = r0; row < r1; row++) {
                long ia = 0, ib = 0, rem = row;
                for (int ax = r - 2; ax >= 0; ax--) {
                    long c = rem % os[ax];
                    rem /= os[ax];
                    ia += c * sa[ax];
                    ib += c * sb[ax];
                }
                rowOp(kind, a, ia, la, b, ib, lb, out, row * last, last);
            }
        });
    }

    private static void rowOp(Binary.Kind kind, MemorySegment a, long ia, long la, MemorySegment b, long ib, long lb,
                              MemorySegment out, long io, int n) {
        int j = 0;
        for (int upper = n - n % F32.LANES; j < upper; j += F32.LANES) {
            FloatVector x = la == 0 ? FloatVector.broadcast(F32.SPECIES, F32.get(a, ia)) : F32.load(a, ia + j);
            FloatVector y = lb == 0 ? FloatVector.broadcast(F32.SPECIES, F32.get(b, ib)) : F32.load(b, ib + j);
            FloatVector z = switch (kind) {
                case ADD -> x.add(y);
                case SUB -> x.sub(y);
                case MUL -> x.mul(y);
                case DIV -> x.div(y);
            };
            F32.store(z, out, io + j);
        }
        for (; j < n; j++) {
            float x = F32.get(a, ia + j * la), y = F32.get(b, ib + j * lb);
            F32.set(out, io + j, switch (kind) {
                case ADD -> x + y;
                case SUB -> x - y;
                case MUL -> x * y;
                case DIV -> x / y;
            });
        }
    }

    /** Element strides of {@code shape} seen as broadcast to {@code out} (0 on broadcast axes). */
    static long[] broadcastStrides(int[] shape, int[] out) {
        long[] s = new long[out.length];
        long acc = 1;
        for (int i = shape.length - 1, o = out.length - 1; o >= 0; i--, o--) {
            int d = i >= 0 ? shape[i] : 1;
            s[o] = d == 1 ? 0 : acc;
            acc *= d;
        }
        return s;
    }
}
