package dev.i2vgen.model.unet;

import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Fake weights with real names and shapes (from a "name TAB [d0,d1,...]" list) that all view one shared
 * buffer of random F16 values: the full 1.4 B-parameter architecture can be built (shape inference)
 * with only the largest tensor's bytes in memory.
 */
final class GeneratedWeights implements TensorSource {
    private final Map<String, int[]> shapes;
    private final MemorySegment pool;

    private GeneratedWeights(Map<String, int[]> shapes) {
        this.shapes = shapes;
        long max = shapes.values().stream().mapToLong(Tensor::numel).max().orElse(1);
        this.pool = Arena.ofAuto().allocate(max * 2, 64);
        Random r = new Random(7);
        for (long i = 0; i < max; i++) {
            pool.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, dev.i2vgen.tensor.Half.floatToF16((float) (r.nextGaussian() * 0.02)));
        }
    }

    /** Reads a tab-separated list (lines starting with '#' are comments) from the test resources. */
    static GeneratedWeights fromResource(String resource) throws IOException {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        try (InputStream in = GeneratedWeights.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing test resource " + resource);
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] cols = line.split("\t");
                String dims = cols[1].trim();
                int[] shape = dims.equals("[]") ? new int[0]
                        : Arrays.stream(dims.substring(1, dims.length() - 1).split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
                shapes.put(cols[0].trim(), shape);
            }
        }
        return new GeneratedWeights(shapes);
    }

    long parameterCount() { return shapes.values().stream().mapToLong(Tensor::numel).sum(); }

    @Override
    public Tensor get(String name) {
        int[] shape = shapes.get(name);
        if (shape == null) throw new IllegalArgumentException("generated weights: no tensor '" + name + "'");
        return Tensor.wrap(pool.asSlice(0, Tensor.numel(shape) * 2), DType.F16, shape);
    }

    @Override public boolean contains(String name) { return shapes.containsKey(name); }

    @Override public Set<String> names() { return shapes.keySet(); }

    @Override public String description() { return "generated weights"; }
}
