package dev.i2vgen.model.unet;

import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.graph.Value;

/**
 * Optionally marks the output of each top-level UNet module as a graph output named like diffusers'
 * module ("down_blocks.0", "mid_block", ...), so a stage can be compared with the reference. Off in
 * production: every recorded value keeps its buffer alive for the whole run.
 */
final class ModuleRecorder {
    private final TaskGraph graph;
    private final String prefix;
    private final boolean enabled;

    ModuleRecorder(TaskGraph graph, String prefix, boolean enabled) {
        this.graph = graph;
        this.prefix = prefix;
        this.enabled = enabled;
    }

    boolean enabled() { return enabled; }

    void record(String module, Value v) {
        if (enabled) graph.output(prefix + module, v);
    }
}
