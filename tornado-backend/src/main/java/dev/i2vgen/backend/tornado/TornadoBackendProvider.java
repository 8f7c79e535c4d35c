package dev.i2vgen.backend.tornado;

import dev.i2vgen.backend.AvailabilityProbe;
import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;

/**
 * Service-loader entry for {@code --device tornado}: available when this JVM runs with TornadoVM (started with the
 * options of its {@code tornado-argfile}) and TornadoVM finds a device. Nothing of TornadoVM is linked before the
 * probe has found its classes, so the provider loads on any JVM.
 */
public final class TornadoBackendProvider implements BackendProvider {
    static final String HOW_TO_INSTALL = "build TornadoVM (OpenCL, PTX or SPIR-V backend) from its source, set TORNADOVM_HOME to "
            + "its SDK folder and run with its JVM options (java @$TORNADOVM_HOME/tornado-argfile ..., which ./i2vgen adds "
            + "for --device tornado); see README.md, \"TornadoVM backend (optional)\"";
    private static final AvailabilityProbe PROBE = new AvailabilityProbe(TornadoBackendProvider::detect);

    @Override public String name() { return "tornado"; }

    @Override public boolean isAvailable() { return PROBE.reason().isEmpty(); }

    @Override public String unavailableReason() { return PROBE.reason(); }

    @Override public Backend create() { return TornadoBackend.create(); }

    private static String detect() {
        try {
            Class.forName("uk.ac.manchester.tornado.api.TornadoExecutionPlan", false, TornadoBackendProvider.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            return "TornadoVM is not on this JVM: " + HOW_TO_INSTALL;
        }
        return TornadoRuntimeProbe.reason();
    }
}
