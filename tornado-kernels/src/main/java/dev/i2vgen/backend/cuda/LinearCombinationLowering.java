package dev.i2vgen.backend.cuda;

import dev.i2vgen.graph.Task;
import dev.i2vgen.graph.Value;
import dev.i2vgen.graph.ops.LinearCombination;
import dev.i2vgen.tensor.DType;

import java.util.Arrays;

/**
 * {@link LinearCombination} as one launch of elementwise.cu's linear_combination: the term pointers and their dtype
 * codes by value in a LinearTerms struct, the fp32 coefficients read on the device. Every input is read in its
 * declared dtype, never through {@link TaskLowering#operand} (which would round an F32 term, or the coefficients, to
 * an fp16 activation dtype); a constant, which the plan otherwise keeps in the activation dtype, gets a resident copy
 * in its declared dtype. With every term in the activation dtype and 16-byte aligned, the vectorised kernel runs.
 */
final class LinearCombinationLowering {
    private LinearCombinationLowering() {}

    static void lower(TaskLowering tl, Task t) {
        int k = t.inputs().size() - 1;
        Value out = t.output();
        long n = out.numel();
        long coefficients = declared(tl, t.input(0));   // F32: LinearCombination checks it
        long[] pointers = new long[LinearCombination.MAX_TERMS];
        int[] fields = new int[LinearCombination.MAX_TERMS + 1];   // dtype codes, then k
        boolean allActivation = true;
        for (int i = 0; i < k; i++) {
            Value term = t.input(i + 1);
            pointers[i] = declared(tl, term);
            fields[i] = TaskLowering.dtypeCode(term.dtype());
            allActivation &= term.dtype() == tl.act;
        }
        fields[LinearCombination.MAX_TERMS] = k;
        long y = tl.ptr(out);
        int vec = VectorAccess.MAX_BYTES / tl.act.byteSize();
        long[] bases = Arrays.copyOf(pointers, k + 1);
        bases[k] = y;
        boolean vector = allActivation && VectorAccess.enabled() && n >= vec && VectorAccess.width(tl.act.byteSize(), vec, bases) == vec;
        tl.launch("elementwise", vector ? "linear_combination_vec" : "linear_combination", TaskLowering.grid(vector ? n / vec : n), 1,
                TaskLowering.BLOCK, 0, tl.args().struct(pointers, fields).ptr(coefficients).ptr(y).i64(n));
    }

    /** The device address of {@code v}'s data in its declared dtype. */
    private static long declared(TaskLowering tl, Value v) {
        Value root = v.root();
        DType type = root.dtype();
        if (root.kind() != Value.Kind.CONSTANT || tl.plan.storageType(root) == type) return tl.ptr(v);
        long bytes = root.numel() * type.byteSize();
        // converted, copied on the build stream and waited for: the host copy may be a temporary, the device copy is shared
        return tl.plan.constantPointer(root, "declared " + type, bytes, (r, p) -> tl.plan.build().upload(r.constant(), type, p));
    }
}
