package dev.i2vgen.backend.opencl;

import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.backend.OpsAgainstJvm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/**
 * Every op on the OpenCL device against the JVM backend on the same random data (the cases of
 * {@link OpsAgainstJvm}). Skips with the reason when no OpenCL device is usable.
 */
class OpenClOpsTest extends OpsAgainstJvm {
    @BeforeAll
    static void open() {
        BackendProvider p = Backends.provider("opencl");
        Assumptions.assumeTrue(p.isAvailable(), "OpenCL backend unavailable: " + p.unavailableReason());
        device = OpenClBackend.create();
        System.out.println("OpenCL device: " + device.deviceDescription());
    }
}
