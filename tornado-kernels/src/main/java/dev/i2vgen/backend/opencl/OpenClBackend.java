package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.graph.ImmutableTaskGraph;

import java.lang.foreign.MemorySegment;

/**
 * The OpenCL backend: one device (a GPU when there is one), one context and in-order queue, kernels
 * built at run time from the {@code .cl} resources. Values live on the device in fp32 whatever their
 * declared dtype (as in the JVM backend): F16/BF16 weights are widened at upload, and values declared
 * F16/BF16 are rounded to that precision after the task that writes them.
 */
public final class OpenClBackend implements Backend {
    final OpenCl cl;
    final OpenClDevice device;
    final MemorySegment context;
    final MemorySegment queue;
    final OpenClPrograms programs;
    private boolean closed;

    private OpenClBackend(OpenCl cl, OpenClDevice device) {
        this.cl = cl;
        this.device = device;
        this.context = cl.createContext(device.id());
        this.queue = cl.createQueue(context, device.id());
        this.programs = new OpenClPrograms(cl, context, device);
    }

    /** The device chosen by {@link OpenClDevice#choose}. */
    public static OpenClBackend create() {
        OpenCl cl = OpenCl.load();
        return new OpenClBackend(cl, OpenClDevice.choose(cl));
    }

    @Override public String name() { return "opencl"; }

    @Override
    public String deviceDescription() {
        return device.name() + " (" + device.platformName() + ", " + device.version() + (device.gpu() ? ", GPU" : "") + ")";
    }

    @Override
    public OpenClExecutionPlan compile(ImmutableTaskGraph graph) {
        if (closed) throw new IllegalStateException("OpenCL backend is closed");
        return new OpenClExecutionPlan(this, graph);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        cl.finish(queue);
        programs.close();
        cl.releaseQueue(queue);
        cl.releaseContext(context);
    }
}
