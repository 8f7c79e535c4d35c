package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.AvailabilityProbe;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;

/**
 * Service-loader entry: available when the ICD loader loads and some platform offers a device
 * (a GPU is preferred; {@code -Di2vgen.opencl.device=N} picks the N-th device of all platforms).
 */
public final class OpenClBackendProvider implements BackendProvider {
    private static final AvailabilityProbe PROBE = new AvailabilityProbe(OpenClBackendProvider::detect);

    @Override public String name() { return "opencl"; }

    @Override public boolean isAvailable() { return probe().isEmpty(); }

    @Override public String unavailableReason() { return probe(); }

    @Override public Backend create() { return OpenClBackend.create(); }

    /** "" when usable, else what is missing (library, platform, device). Probed once per JVM. */
    static String probe() { return PROBE.reason(); }

    private static String detect() {
        try {
            OpenClDevice.choose(OpenCl.load());
            return "";
        } catch (OpenClException | UnsatisfiedLinkError | IllegalArgumentException e) {
            return e.getMessage();
        }
    }
}
