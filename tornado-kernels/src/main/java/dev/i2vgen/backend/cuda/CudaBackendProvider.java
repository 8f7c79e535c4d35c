package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.AvailabilityProbe;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;

/**
 * Service-loader entry: available when the driver sees a device and NVRTC and cuBLASLt load. cuDNN 9 is
 * optional: when libcudnn.so.9 is found it serves the fp16/bf16 convolutions where it measured faster (see
 * {@link Cudnn}); without it the backend uses its own convolution kernels (logged once).
 */
public final class CudaBackendProvider implements BackendProvider {
    private static final AvailabilityProbe PROBE = new AvailabilityProbe(CudaBackendProvider::detect);

    @Override public String name() { return "cuda"; }

    @Override public boolean isAvailable() { return probe().isEmpty(); }

    @Override public String unavailableReason() {
        String r = probe();
        return r.isEmpty() ? "" : r;
    }

    @Override public Backend create() { return CudaBackend.create(); }

    /** The device of this CUDA ordinal. */
    @Override public Backend create(int ordinal) { return CudaBackend.create(ordinal); }

    @Override public int deviceCount() { return isAvailable() ? CudaBackend.deviceCount() : 0; }

    /** "" when usable, else what is missing. Probed once per JVM. */
    static String probe() { return PROBE.reason(); }

    private static String detect() {
        try {
            CudaDriver d = CudaDriver.load();
            if (d.deviceCount() == 0) return "the NVIDIA driver (" + d.libraryPath() + ") reports no CUDA device";
            Nvrtc.load();
            NativeLibrary.find("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so")
                    .orElseThrow(() -> new CudaException("cuBLASLt (libcublasLt.so.13 or .12) not found in " + NativeLibrary.searchDirectories()));
            return "";
        } catch (CudaException | UnsatisfiedLinkError | IllegalArgumentException e) {
            return e.getMessage();
        }
    }
}
