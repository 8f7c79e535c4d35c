package dev.i2vgen.backend.tornado;

import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.WorkerGrid;

import java.util.List;

/**
 * One kernel task of a plan, ready to be added to a TornadoVM task graph: the kernel's name (for errors), its
 * launch grid, the host arrays it reads that must be on the device (its parameters and weights; the activation
 * arena is passed between the graphs on the device), and how to add it.
 */
record KernelLaunch(String kernel, WorkerGrid grid, List<Object> deviceData, Adder adder) {
    /** Adds the task under {@code id} (a method reference and its arguments). */
    @FunctionalInterface
    interface Adder {
        void addTo(TaskGraph graph, String id);
    }
}
