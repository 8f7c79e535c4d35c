package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;

/**
 * Service-loader entry: available when the ICD loader loads and some platform offers a device
 * (a GPU is preferred; {@code -Di2vgen.opencl.device=N} picks the N-th device of all platforms).
 */
public final class OpenClBackendProvider implements BackendProvider {
    private static volatile String reason;   // null until probed; "" when available

    @Override public String name() { return "opencl"; }

    @Override public boolean isAvailable() { return probe().isEmpty(); }

    @Override public String unavailableReason() { return probe(); }

    @Override public Backend create() { return OpenClBackend.create(); }

    /** "" when usable, else what is missing (library, platform, device). Probed once per JVM. */
    static String probe() {
        String r = reason;
        if (r != null) return r;
        synchronized (OpenClBackendProvider.class) {
            if (reason != null) return reason;
            try {
                OpenClDevice.choose(OpenCl.load());
                r = "";
            } catch (OpenClException | UnsatisfiedLinkError | IllegalArgumentException e) {
                r = e.getMessage();
            }
            reason = r;
            return r;
        }
    }
}
