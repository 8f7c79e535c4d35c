package dev.i2vgen.backend.jvm;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;

/** Service entry for the pure-Java backend; always available (needs only jdk.incubator.vector). */
public final class JvmBackendProvider implements BackendProvider {
    public String name() { return "jvm"; }

    public boolean isAvailable() { return true; }

    public String unavailableReason() { return ""; }

    public Backend create() { return new JvmBackend(); }
}
