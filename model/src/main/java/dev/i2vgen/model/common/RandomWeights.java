package dev.i2vgen.model.common;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Half;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Deterministic random fp16 weights with the real names and shapes of a model, for benchmarks without a
 * download. Every tensor is a view into one shared pool of N(0, 0.02²) values (at a name-dependent offset),
 * so the 1.4 B-parameter UNet costs only the largest tensor's bytes on the host until a backend copies it.
 */
public final class RandomWeights implements TensorSource {
    private static final int OFFSETS = 4096, OFFSET_STEP = 64;

    private final Map<String, int[]> shapes;
    private final MemorySegment pool;
    private final String description;

    public RandomWeights(Map<String, int[]> shapes, long seed, String description) {
        this.shapes = Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
        this.description = description;
        long max = shapes.values().stream().mapToLong(Tensor::numel).max().orElse(1);
        long size = max + (long) OFFSETS * OFFSET_STEP;
        this.pool = Arena.ofAuto().allocate(size * 2, 64);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < size; i++) pool.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Half.floatToF16((float) (r.nextGaussian() * 0.02)));
    }

    /**
     * Shapes of one component from the tab-separated list of the spec ({@code component TAB name TAB [d0,d1,...]},
     * '#' comments), e.g. component "unet".
     */
    public static RandomWeights fromTensorList(InputStream tsv, String source, String component, long seed) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        try {
            int lineNo = 0;
            for (String line : new String(tsv.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                lineNo++;
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] cols = line.split("\t");
                if (cols.length != 3) throw new IllegalArgumentException(source + ":" + lineNo + ": expected 3 tab-separated columns, got " + cols.length);
                if (!cols[0].trim().equals(component)) continue;
                shapes.put(cols[1].trim(), parseShape(cols[2].trim(), source + ":" + lineNo));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tensor list " + source, e);
        }
        if (shapes.isEmpty()) throw new IllegalArgumentException(source + " lists no tensors of component '" + component + "'");
        return new RandomWeights(shapes, seed, "random " + component + " weights (" + source + ")");
    }

    private static int[] parseShape(String dims, String where) {
        if (!dims.startsWith("[") || !dims.endsWith("]")) throw new IllegalArgumentException(where + ": shape must look like [d0,d1,...], got " + dims);
        String inner = dims.substring(1, dims.length() - 1).trim();
        if (inner.isEmpty()) return new int[0];
        return Arrays.stream(inner.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    }

    public long parameterCount() { return shapes.values().stream().mapToLong(Tensor::numel).sum(); }

    @Override
    public Tensor get(String name) {
        int[] shape = shapes.get(name);
        if (shape == null) throw new IllegalArgumentException(description + ": no tensor '" + name + "'");
        long offset = (long) Math.floorMod(name.hashCode(), OFFSETS) * OFFSET_STEP;
        return Tensor.wrap(pool.asSlice(offset * 2, Tensor.numel(shape) * 2), DType.F16, shape);
    }

    @Override public boolean contains(String name) { return shapes.containsKey(name); }

    @Override public Set<String> names() { return shapes.keySet(); }

    @Override public String description() { return description; }
}
