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
}
