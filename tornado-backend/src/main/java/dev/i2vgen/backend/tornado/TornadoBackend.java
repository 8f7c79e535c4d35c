package dev.i2vgen.backend.tornado;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.graph.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/**
 * The TornadoVM backend: every op a Java kernel (package {@code kernels}) that TornadoVM JIT-compiles for its device
 * (OpenCL C, PTX or SPIR-V, whichever backends the installation has), each frozen graph one
 * {@link TornadoExecutionPlan} ({@link TornadoGraphPlan}). The device is TornadoVM's default, or
 * {@code -Di2vgen.tornado.device=B:D} (backend and device index, as {@code tornado --devices} lists them). Kernels
 * compute in fp32; F16/BF16 weights are widened at upload and F16/BF16 values rounded after each task.
 */
public final class TornadoBackend implements Backend {
    /** OpenCL build options: TornadoVM's default adds -cl-fast-relaxed-math and -cl-mad-enable, which change results. */
    static final String OPENCL_FLAGS = "-w";

    private final TornadoDevice device;
    private boolean closed;

    private TornadoBackend(TornadoDevice device) {
        this.device = device;
    }

    /** The chosen device; TornadoVM must be on this JVM ({@link TornadoBackendProvider#isAvailable()}). */
    public static TornadoBackend create() {
        TornadoSettings.apply();
        return new TornadoBackend(chooseDevice());
    }

    static TornadoDevice chooseDevice() {
        String pick = System.getProperty("i2vgen.tornado.device");
        if (pick == null || pick.isBlank()) return TornadoRuntimeProvider.getTornadoRuntime().getDefaultDevice();
        String[] parts = pick.trim().split(":");
        try {
            if (parts.length != 2) throw new NumberFormatException();
            return TornadoExecutionPlan.getDevice(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-Di2vgen.tornado.device must be BACKEND:DEVICE (indices, as `tornado --devices` lists them), got '" + pick + "'");
        }
    }

    TornadoDevice device() { return device; }

    @Override public String name() { return "tornado"; }

    @Override
    public String deviceDescription() {
        return "TornadoVM " + device.getTornadoVMBackend() + ": " + device.getPhysicalDevice().getDeviceName()
                + " (" + device.getPlatformName().trim() + ")";
    }

    @Override
    public TornadoGraphPlan compile(ImmutableTaskGraph graph) {
        if (closed) throw new IllegalStateException("TornadoVM backend is closed");
        return new TornadoGraphPlan(this, graph);
    }

    /** Plans free their own device memory; TornadoVM's runtime lives as long as the JVM. */
    @Override
    public void close() { closed = true; }
}
