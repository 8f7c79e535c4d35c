package dev.i2vgen.backend.tornado;

import dev.i2vgen.graph.Task;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How a graph's tasks become TornadoVM task graphs: by layer scope, and within TornadoVM's graph size. */
class LayerScopesTest {

    @Test
    void theScopeEndsAtTheFirstNumberedComponent() {
        assertEquals("down_blocks.0", LayerScopes.scopeOf("down_blocks.0.resnets.1"));
        assertEquals("text_model.encoder.layers.3", LayerScopes.scopeOf("text_model.encoder.layers.3.mlp"));
        assertEquals("conv_in", LayerScopes.scopeOf("conv_in"));
        assertEquals("", LayerScopes.scopeOf(""));
    }

    @Test
    void consecutiveTasksOfAScopeFormOneGroupInOrder() {
        List<Task> tasks = new ArrayList<>();
        String[] labels = {"conv_in", "down_blocks.0.resnets.0", "down_blocks.0.attentions.0", "down_blocks.1.resnets.0", "conv_out"};
        for (int i = 0; i < labels.length; i++) tasks.add(new Task(i, null, List.of(), null, labels[i]));
        List<List<Task>> groups = LayerScopes.split(tasks);
        assertEquals(List.of(1, 2, 1, 1), groups.stream().map(List::size).toList());
        assertEquals("down_blocks.0.attentions.0", groups.get(1).get(1).label());
    }

    @Test
    void longRunsAreCutWithinTheNodeBudget() {
        List<KernelLaunch> launches = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            List<Object> data = List.of(new Object(), new Object(), new Object());   // three arrays of its own each
            launches.add(new KernelLaunch("k", null, data, (g, id) -> { }));
        }
        List<List<KernelLaunch>> parts = LayerScopes.withinNodeBudget(launches);
        assertTrue(parts.size() > 1, "200 launches with 600 arrays must be cut");
        assertEquals(200, parts.stream().mapToInt(List::size).sum());
        for (List<KernelLaunch> part : parts) assertTrue(3 * part.size() + 4 * 3 * part.size() <= LayerScopes.NODE_BUDGET, "part of " + part.size());
    }
}
