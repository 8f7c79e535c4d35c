package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;

import java.util.List;

/**
 * The backends a pipeline runs on: one, or two for CFG-parallel denoising ({@link CfgParallelLoop}: the unconditional
 * half of the guidance batch on the first, the conditional half on the second). Everything else (encoders, decode, a
 * denoising loop without guidance) runs on the first.
 */
final class PipelineDevices {
    private static final System.Logger LOG = System.getLogger(PipelineDevices.class.getName());

    private PipelineDevices() {}

    /** The list, checked: one or two distinct backends. */
    static List<Backend> check(List<Backend> devices) {
        if (devices == null || devices.isEmpty() || devices.size() > 2) {
            throw new IllegalArgumentException("a pipeline runs on one backend, or two for CFG-parallel denoising (each runs one"
                    + " half of the guidance batch); got " + (devices == null ? "none" : devices.size()));
        }
        for (Backend b : devices) if (b == null) throw new IllegalArgumentException("a pipeline's backends must not be null");
        if (devices.size() == 2 && devices.get(0) == devices.get(1)) {
            throw new IllegalArgumentException("CFG-parallel needs two backends, got the same backend twice (create one per device)");
        }
        return List.copyOf(devices);
    }

    /** With two devices, notes which part of this run stays on the first and why (nothing to split, or not split). */
    static void noteFirstDeviceOnly(List<Backend> devices, String what) {
        if (devices.size() == 2) {
            LOG.log(System.Logger.Level.INFO, "CFG-parallel: " + what + " (" + devices.get(0).deviceDescription() + ")");
        }
    }
}
