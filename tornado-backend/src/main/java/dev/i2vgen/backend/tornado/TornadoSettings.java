package dev.i2vgen.backend.tornado;

/**
 * TornadoVM options this backend depends on, set (unless the user set them) before TornadoVM reads its options:
 * no silent fallback to running a kernel as plain Java when it fails to compile (KernelContext kernels need their
 * work-groups), OpenCL builds without fast-relaxed math, and room for the bytecode of a layer's task graph (every
 * task depends on those before it through the shared activation arena; TornadoVM's default of 4 KiB holds a few dozen).
 */
final class TornadoSettings {
    private TornadoSettings() {}

    static void apply() {
        if (System.getProperty("tornado.recover.bailout") == null) System.setProperty("tornado.recover.bailout", "False");
        if (System.getProperty("tornado.tvm.maxbytecodesize") == null) System.setProperty("tornado.tvm.maxbytecodesize", String.valueOf(1 << 20));
        if (System.getProperty("tornado.opencl.compiler.flags") == null) System.setProperty("tornado.opencl.compiler.flags", TornadoBackend.OPENCL_FLAGS);
    }
}
