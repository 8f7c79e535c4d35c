package dev.i2vgen.backend.opencl;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One prepared kernel launch: its own kernel object with every argument set when the plan is compiled
 * (buffers and offsets are fixed by the memory plan), so running it is a single clEnqueueNDRangeKernel.
 * Global sizes are rounded up to whole work-groups; kernels ignore the work-items past the end.
 */
final class OpenClLaunch {
    private final String name;
    private final MemorySegment kernel;
    private final int dims;
    private final MemorySegment global, local;

    private OpenClLaunch(String name, MemorySegment kernel, long[] global, long[] local, Arena arena) {
        this.name = name;
        this.kernel = kernel;
        this.dims = global.length;
        this.global = arena.allocate(JAVA_LONG, dims);
        this.local = arena.allocate(JAVA_LONG, dims);
        for (int i = 0; i < dims; i++) {
            long l = local[i];
            this.local.setAtIndex(JAVA_LONG, i, l);
            this.global.setAtIndex(JAVA_LONG, i, Math.max(1, (global[i] + l - 1) / l) * l);
        }
    }

    String name() { return name; }

    MemorySegment kernel() { return kernel; }

    void run(OpenCl cl, MemorySegment queue) { cl.enqueue(queue, kernel, name, dims, global, local); }

    /** Builder of a launch: arguments in declaration order. */
    static final class Builder {
        private final OpenCl cl;
        private final Arena arena;
        private final String name;
        private final MemorySegment kernel;
        private int index;

        Builder(OpenCl cl, Arena arena, MemorySegment program, String name) {
            this.cl = cl;
            this.arena = arena;
            this.name = name;
            this.kernel = cl.createKernel(program, name);
        }

        /** A tensor argument: the buffer, then the element offset of the tensor inside it (the BUF macro of common.cl). */
        Builder buf(OpenClExecutionPlan.Ref ref) {
            MemorySegment handle = arena.allocate(ADDRESS);
            handle.set(ADDRESS, 0, ref.buffer());
            cl.setArg(kernel, name, index++, ADDRESS.byteSize(), handle);
            return i64(ref.offset());
        }

        /** A whole buffer ({@code __global T*} without an offset): small index tables. */
        Builder mem(MemorySegment buffer) {
            MemorySegment handle = arena.allocate(ADDRESS);
            handle.set(ADDRESS, 0, buffer);
            cl.setArg(kernel, name, index++, ADDRESS.byteSize(), handle);
            return this;
        }

        Builder i64(long v) {
            MemorySegment s = arena.allocate(JAVA_LONG);
            s.set(JAVA_LONG, 0, v);
            cl.setArg(kernel, name, index++, 8, s);
            return this;
        }

        Builder i32(int v) {
            MemorySegment s = arena.allocate(JAVA_INT);
            s.set(JAVA_INT, 0, v);
            cl.setArg(kernel, name, index++, 4, s);
            return this;
        }

        Builder f32(float v) {
            MemorySegment s = arena.allocate(JAVA_FLOAT);
            s.set(JAVA_FLOAT, 0, v);
            cl.setArg(kernel, name, index++, 4, s);
            return this;
        }

        /** A {@code __local} array of {@code bytes}. */
        Builder local(long bytes) {
            cl.setArg(kernel, name, index++, bytes, MemorySegment.NULL);
            return this;
        }

        OpenClLaunch build(long[] global, long[] local) { return new OpenClLaunch(name, kernel, global, local, arena); }
    }
}
