package dev.i2vgen.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One prepared kernel launch: function, geometry and its argument block, built once when a plan is
 * compiled (device pointers are fixed by the memory plan), so running it is a single cuLaunchKernel.
 */
final class KernelLaunch {
    private final String name;
    private final MemorySegment function;
    private final int gx, gy, gz, block, blockY, sharedBytes;
    private final MemorySegment params;

    private KernelLaunch(String name, MemorySegment function, int gx, int gy, int gz, int block, int blockY, int sharedBytes, MemorySegment params) {
        this.blockY = blockY;
        this.name = name;
        this.function = function;
        this.gx = gx;
        this.gy = gy;
        this.gz = gz;
        this.block = block;
        this.sharedBytes = sharedBytes;
        this.params = params;
    }

    void run(CudaDriver driver, MemorySegment stream) {
        driver.launch(function, name, gx, gy, gz, block, blockY, 1, sharedBytes, stream, params);
    }

    String name() { return name; }

    /** Kernel arguments in declaration order: 64-bit pointers and integers, 32-bit ints and floats, structs as bytes. */
    static final class Args {
        private final List<MemorySegment> values = new ArrayList<>();
        private final Arena arena;

        Args(Arena arena) { this.arena = arena; }

        Args ptr(long p) { return i64(p); }

        Args i64(long v) {
            MemorySegment s = arena.allocate(JAVA_LONG);
            s.set(JAVA_LONG, 0, v);
            values.add(s);
            return this;
        }

        Args i32(int v) {
            MemorySegment s = arena.allocate(JAVA_INT);
            s.set(JAVA_INT, 0, v);
            values.add(s);
            return this;
        }

        Args f32(float v) {
            MemorySegment s = arena.allocate(JAVA_FLOAT);
            s.set(JAVA_FLOAT, 0, v);
            values.add(s);
            return this;
        }

        /**
         * A struct passed by value holding {@code arrays.length} arrays of {@code maxRank} int64 followed by one
         * int (rank): the layout of Broadcast and Permutation in the kernels.
         */
        Args rankedStruct(int maxRank, int rank, long[]... arrays) {
            long size = (long) arrays.length * maxRank * 8 + 8;
            MemorySegment s = arena.allocate(size, 8);
            for (int a = 0; a < arrays.length; a++)
                for (int i = 0; i < arrays[a].length; i++) s.set(JAVA_LONG, ((long) a * maxRank + i) * 8, arrays[a][i]);
            s.set(JAVA_INT, (long) arrays.length * maxRank * 8, rank);
            values.add(s);
            return this;
        }

        /**
         * A struct passed by value holding {@code longs} (8-byte fields, pointers), then {@code ints}, padded to 8 bytes:
         * the layout of LinearTerms in the kernels.
         */
        Args struct(long[] longs, int... ints) {
            long size = ((long) longs.length * 8 + (long) ints.length * 4 + 7) / 8 * 8;
            MemorySegment s = arena.allocate(size, 8);
            for (int i = 0; i < longs.length; i++) s.set(JAVA_LONG, (long) i * 8, longs[i]);
            for (int i = 0; i < ints.length; i++) s.set(JAVA_INT, (long) longs.length * 8 + (long) i * 4, ints[i]);
            values.add(s);
            return this;
        }

        /** An argument passed by value as these bytes, copied (a 128-byte CUtensorMap for a __grid_constant__ parameter). */
        Args bytes(MemorySegment value) {
            MemorySegment s = arena.allocate(value.byteSize(), 128);
            s.copyFrom(value);
            values.add(s);
            return this;
        }

        MemorySegment build() {
            MemorySegment p = arena.allocate(ADDRESS, Math.max(1, values.size()));
            for (int i = 0; i < values.size(); i++) p.setAtIndex(ADDRESS, i, values.get(i));
            return p;
        }
    }

    static KernelLaunch of(String name, MemorySegment function, int gx, int gy, int block, int sharedBytes, Args args) {
        return of(name, function, gx, gy, 1, block, sharedBytes, args);
    }

    static KernelLaunch of(String name, MemorySegment function, int gx, int gy, int gz, int block, int sharedBytes, Args args) {
        return of(name, function, gx, gy, gz, block, 1, sharedBytes, args);
    }

    static KernelLaunch of(String name, MemorySegment function, int gx, int gy, int gz, int bx, int by, int sharedBytes, Args args) {
        return new KernelLaunch(name, function, gx, gy, gz, bx, by, sharedBytes, args.build());
    }
}
