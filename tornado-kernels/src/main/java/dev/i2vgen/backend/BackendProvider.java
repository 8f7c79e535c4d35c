package dev.i2vgen.backend;

/** Service-loader entry for a backend ({@code META-INF/services/dev.i2vgen.backend.BackendProvider}). */
public interface BackendProvider {
    /** "jvm", "cuda", "opencl". */
    String name();

    /** Whether the device and its libraries are present on this machine. */
    boolean isAvailable();

    /** Why {@link #isAvailable()} is false, naming what is missing (a library, a driver, a device). */
    String unavailableReason();

    Backend create();

    /**
     * A backend on device {@code ordinal} of this kind (as the backend counts its devices), for work spread over several
     * devices; each call makes a new backend. The default serves backends of one device: ordinal 0 only.
     */
    default Backend create(int ordinal) {
        if (ordinal != 0) {
            throw new IllegalArgumentException("backend '" + name() + "' has one device (0); there is no device " + ordinal);
        }
        return create();
    }

    /** The devices {@link #create(int)} takes (0 where the backend is not available). */
    default int deviceCount() { return isAvailable() ? 1 : 0; }
}
