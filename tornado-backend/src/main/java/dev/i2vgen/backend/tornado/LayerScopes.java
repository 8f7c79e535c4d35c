package dev.i2vgen.backend.tornado;

import dev.i2vgen.graph.Task;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Splits a graph's tasks into runs of consecutive tasks of one layer scope, one TornadoVM task graph each. The
 * scope of a task is its label up to and including the first numbered component ({@code down_blocks.0},
 * {@code text_model.encoder.layers.3}, {@code mid_block.attentions.0}), else the whole label. A TornadoVM 5.2 task
 * graph holds at most 1024 nodes (a task, and an object, a transfer and a release per array it reads), so the kernel
 * tasks of a long run are cut into graphs within {@link #NODE_BUDGET} ({@link #withinNodeBudget}).
 */
final class LayerScopes {
    static final int MAX_TASKS = 128;
    /** Estimated TornadoVM graph nodes per graph, below its fixed 1024 (estimate: 3 per task, 4 per array). */
    static final int NODE_BUDGET = 700;

    private LayerScopes() {}

    static String scopeOf(String label) {
        String[] parts = label.split("\\.");
        StringBuilder sb = new StringBuilder();
        for (String part : parts) {
            if (!sb.isEmpty()) sb.append('.');
            sb.append(part);
            if (!part.isEmpty() && part.chars().allMatch(Character::isDigit)) break;
        }
        return sb.toString();
    }

    /** Consecutive tasks grouped by scope, in graph order. */
    static List<List<Task>> split(List<Task> tasks) {
        List<List<Task>> groups = new ArrayList<>();
        String current = null;
        List<Task> group = null;
        for (Task t : tasks) {
            String scope = scopeOf(t.label());
            if (group == null || !scope.equals(current) || group.size() >= MAX_TASKS) {
                group = new ArrayList<>();
                groups.add(group);
                current = scope;
            }
            group.add(t);
        }
        return groups;
    }

    /** Consecutive launches cut where the estimated TornadoVM graph size would exceed {@link #NODE_BUDGET}. */
    static List<List<KernelLaunch>> withinNodeBudget(List<KernelLaunch> launches) {
        List<List<KernelLaunch>> parts = new ArrayList<>();
        List<KernelLaunch> part = new ArrayList<>();
        Set<Object> arrays = Collections.newSetFromMap(new IdentityHashMap<>());
        for (KernelLaunch l : launches) {
            int added = 0;
            for (Object o : l.deviceData()) if (!arrays.contains(o)) added++;
            if (!part.isEmpty() && 3 * (part.size() + 1) + 4 * (arrays.size() + added) > NODE_BUDGET) {
                parts.add(part);
                part = new ArrayList<>();
                arrays.clear();
            }
            part.add(l);
            arrays.addAll(l.deviceData());
        }
        if (!part.isEmpty()) parts.add(part);
        return parts;
    }
}
