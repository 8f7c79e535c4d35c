package dev.i2vgen.backend;

import dev.i2vgen.graph.ImmutableTaskGraph;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ExecutionPlan#linkTo} between two backends: every run's value arrives in the target, converted to the target
 * input's dtype, whatever the pair (two JVM backends, as CI has; a CUDA backend and a JVM one, through the host, where
 * a GPU is present); misuse is refused when the link is made. The CUDA routes are {@code CudaPlanLinkTest}'s.
 */
class PlanLinkTest {
    @ParameterizedTest
    @CsvSource({"jvm,jvm,F32", "jvm,jvm,F16", "cuda,jvm,F32", "jvm,cuda,F16"})
    void everyRunArrivesInTheOtherBackend(String from, String to, DType targetDtype) {
        assumeAvailable(from);
        assumeAvailable(to);
        try (Backend a = Backends.create(from); Backend b = Backends.create(to)) {
            String route = new LinkedLoopCase(16, 96, 3, 5, targetDtype).check(a, b, LinkedLoopCase.DEFAULT);
            assertEquals("through the host", route);
        }
    }

    @Test
    void refusesEndsThatDoNotFit() {
        LinkedLoopCase c = new LinkedLoopCase(4, 8, 1, 1, DType.F32);
        LinkedLoopCase other = new LinkedLoopCase(8, 4, 1, 1, DType.F32);
        ImmutableTaskGraph sg = c.sourceGraph(), tg = c.targetGraph(), wrongShape = other.targetGraph();
        try (Backend a = Backends.create("jvm"); Backend b = Backends.create("jvm");
             ExecutionPlan source = a.compile(sg); ExecutionPlan target = b.compile(tg); ExecutionPlan misfit = b.compile(wrongShape)) {
            var notOutput = assertThrows(IllegalArgumentException.class, () -> source.linkTo(sg.input("x"), target, tg.input("z")));
            assertTrue(notOutput.getMessage().contains("is not an output"), notOutput.getMessage());
            var notInput = assertThrows(IllegalArgumentException.class, () -> source.linkTo(sg.output("y"), target, wrongShape.input("z")));
            assertTrue(notInput.getMessage().contains("is not an input of that graph"), notInput.getMessage());
            var shape = assertThrows(IllegalArgumentException.class, () -> source.linkTo("y", misfit, "z"));
            assertTrue(shape.getMessage().contains("link_source output 'y' → link_target input 'z': shape [4, 8] differs from [8, 4]"),
                    shape.getMessage());
            var unknown = assertThrows(IllegalArgumentException.class, () -> source.linkTo("y", target, "w"));
            assertTrue(unknown.getMessage().contains("has no input 'w'"), unknown.getMessage());

            source.execute(Map.of(sg.input("x"), Tensor.allocate(DType.F32, 4, 8)));
            PlanLink link = source.linkTo("y", target, "z");
            link.close();
            var closed = assertThrows(IllegalStateException.class, link::transfer);
            assertTrue(closed.getMessage().contains("is closed"), closed.getMessage());
        }
    }

    static void assumeAvailable(String name) {
        BackendProvider p = Backends.provider(name);
        Assumptions.assumeTrue(p.isAvailable(), () -> "skipped: backend " + name + " not available here (" + p.unavailableReason() + ")");
    }
}
