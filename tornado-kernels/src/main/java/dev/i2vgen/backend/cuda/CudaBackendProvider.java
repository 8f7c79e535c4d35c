package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;

/**
 * Service-loader entry: available when the driver sees a device and NVRTC and cuBLASLt load. cuDNN 9 is
 * optional: when libcudnn.so.9 is found it serves the fp16/bf16 convolutions where it measured faster (see
 * {@link Cudnn}); without it the backend uses its own convolution kernels (logged once).
 */
public final class CudaBackendProvider implements BackendProvider {
    private static volatile String reason;   // null until probed; "" when available

    @Override public String name() { return "cuda"; }

    @Override public boolean isAvailable() { return probe().isEmpty(); }

    @Override public String unavailableReason() {
        String r = probe();
        return r.isEmpty() ? "" : r;
    }

    @Override public Backend create() { return CudaBackend.create(); }

    /** "" when usable, else what is missing. Probed once per JVM. */
    static String probe() {
        String r = reason;
        if (r != null) return r;
        synchronized (CudaBackendProvider.class) {
            if (reason != null) return reason;
            try {
                CudaDriver d = CudaDriver.load();
                if (d.deviceCount() == 0) r = "the NVIDIA driver (" + d.libraryPath() + ") reports no CUDA device";
                else {
                    Nvrtc.load();
                    NativeLibrary.find("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so")
                            .orElseThrow(() -> new CudaException("cuBLASLt (libcublasLt.so.13 or .12) not found in " + NativeLibrary.searchDirectories()));
                    r = "";
                }
            } catch (CudaException | UnsatisfiedLinkError | IllegalArgumentException e) {
                r = e.getMessage();
            }
            reason = r;
            return r;
        }
    }
}
