package dev.i2vgen.model.clip;

import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.tensor.Tensor;
import dev.i2vgen.tensor.TensorComparison;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test helpers: a reference case's component weights and a relative-error assertion. */
public final class TestCheckpoints {
    private TestCheckpoints() {}

    /** The single safetensors file of {@code component} in the case's checkpoint (fp32 or .fp16 variant). */
    public static SafetensorsFile open(ReferenceCase c, String component) {
        Path dir = c.checkpoint().resolve(component);
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> st = files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            if (st.size() != 1) throw new IllegalStateException(dir + ": expected one .safetensors file, found " + st);
            return SafetensorsFile.open(st.get(0));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path config(ReferenceCase c, String component) {
        return c.checkpoint().resolve(component).resolve("config.json");
    }

    /** ‖actual − expected‖ / ‖expected‖ ≤ tol, shapes equal (leading 1-dims of the reference included). */
    public static double assertClose(String what, Tensor actual, Tensor expected, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double err = TensorComparison.relativeError(actual, expected);
        System.out.printf("%-60s relative error %.3e%n", what, err);
        assertTrue(err <= tol, what + ": relative error " + err + " > " + tol
                + " (max abs " + TensorComparison.maxAbsError(actual, expected) + ")");
        return err;
    }
}
