package dev.i2vgen.backend.tornado;

import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/** Starts TornadoVM's runtime and looks for a device; only loaded once its classes are known to be present. */
final class TornadoRuntimeProbe {
    private TornadoRuntimeProbe() {}

    /** "" when a device is usable, else why not. */
    static String reason() {
        TornadoSettings.apply();
        try {
            var runtime = TornadoRuntimeProvider.getTornadoRuntime();
            if (runtime.getNumBackends() == 0) return "TornadoVM found no backend with a device (tornado --devices lists them)";
            TornadoDevice device = TornadoBackend.chooseDevice();
            return device == null ? "TornadoVM has no default device" : "";
        } catch (RuntimeException | LinkageError e) {
            return "TornadoVM did not start (" + e + "): " + TornadoBackendProvider.HOW_TO_INSTALL;
        }
    }
}
