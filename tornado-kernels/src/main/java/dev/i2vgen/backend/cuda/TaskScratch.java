package dev.i2vgen.backend.cuda;

import java.util.function.LongUnaryOperator;

/**
 * Device memory for one task's temporaries (im2col columns, operands staged into the activation dtype,
 * attention score chunks, GroupNorm partial sums). Tasks run one after another on one stream, so a task's
 * temporaries are dead when the next task starts: every task reuses the same workspace from offset 0
 * instead of owning buffers of its own. When a task needs more than the workspace holds, a larger one is
 * taken; the old one stays allocated because launches prepared earlier point into it.
 */
final class TaskScratch {
    private static final long ALIGN = 256;

    private final LongUnaryOperator allocate;
    private long base;
    private long capacity;
    private long used;

    /** @param allocate bytes → device pointer, owned (and freed) by the plan */
    TaskScratch(LongUnaryOperator allocate) { this.allocate = allocate; }

    /** The previous task's temporaries are dead from here on. */
    void beginTask() { used = 0; }

    /** A 256-byte aligned region of {@code bytes}, live until the next {@link #beginTask()}. */
    long take(long bytes) {
        long size = (Math.max(bytes, 1) + ALIGN - 1) / ALIGN * ALIGN;
        if (used + size > capacity) {
            capacity = Math.max(2 * capacity, size * 2);
            base = allocate.applyAsLong(capacity);
            used = 0;
        }
        long p = base + used;
        used += size;
        return p;
    }

    /** Bytes of the current workspace (for memory reports). */
    long capacity() { return capacity; }
}
