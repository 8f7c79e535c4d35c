package dev.i2vgen.model.clip;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The tensor names and shapes of the released ali-vilab/i2vgen-xl components (copied from the
 * project spec's i2vgen-xl-tensors.tsv) as a TensorSource whose tensors have no data: enough to build
 * full-size graphs and check that every name the model asks for exists with the right shape.
 */
public final class ReleasedLayout implements TensorSource {
    private final String component;
    private final Map<String, int[]> shapes;

    private ReleasedLayout(String component, Map<String, int[]> shapes) {
        this.component = component;
        this.shapes = shapes;
    }

    public static ReleasedLayout of(String component) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        try (var in = ReleasedLayout.class.getResourceAsStream("released-tensors.tsv");
             var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("#") || line.isBlank()) continue;
                String[] f = line.split("\t");
                if (!f[0].equals(component)) continue;
                String dims = f[2].substring(1, f[2].length() - 1);
                shapes.put(f[1], dims.isEmpty() ? new int[0] : Arrays.stream(dims.split(",")).mapToInt(Integer::parseInt).toArray());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (shapes.isEmpty()) throw new IllegalArgumentException("no tensors for " + component);
        return new ReleasedLayout(component, shapes);
    }

    /** A shape-only tensor: its segment is never read while a graph is built (nothing is executed). */
    @Override
    public Tensor get(String name) {
        int[] s = shapes.get(name);
        if (s == null) throw new IllegalArgumentException("released " + component + " has no tensor " + name);
        return Tensor.wrap(MemorySegment.NULL.reinterpret(Tensor.numel(s) * 4), DType.F32, s);
    }

    @Override public boolean contains(String name) { return shapes.containsKey(name); }

    @Override public Set<String> names() { return shapes.keySet(); }

    @Override public String description() { return "released " + component + " layout"; }

    /** Names of the released tensors that the graph does not use (empty when the model consumes them all). */
    public Set<String> unused(ImmutableTaskGraph... graphs) {
        Set<String> used = Arrays.stream(graphs).flatMap(g -> g.values().stream())
                .filter(v -> v.kind() == Value.Kind.CONSTANT).map(Value::name).collect(Collectors.toSet());
        Set<String> out = new TreeSet<>(shapes.keySet());
        out.removeAll(used);
        return out;
    }
}
