package dev.i2vgen.cli;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.BackendProvider;
import dev.i2vgen.backend.Backends;

import java.util.ArrayList;
import java.util.List;

/**
 * The backends of a run's {@code --device} and {@code --devices}: one backend without {@code --devices} (as
 * {@link Backends#create} opens it), else one per listed ordinal; two make the guided denoising loop CFG-parallel (the
 * unconditional half of the guidance batch on the first, the conditional half on the second). For {@code jvm} each
 * ordinal is one more JVM backend on the same CPU: the orchestration runs, without a speed-up (testing).
 */
final class DeviceBackends implements AutoCloseable {
    private final String device;
    private final List<Backend> backends;
    private final List<Integer> ordinals;

    private DeviceBackends(String device, List<Backend> backends, List<Integer> ordinals) {
        this.device = device;
        this.backends = List.copyOf(backends);
        this.ordinals = ordinals;
    }

    /** The checks {@code generate} and {@code bench} make before any work: a message naming --devices, or null. */
    static String problem(String device, int[] devices) {
        if (devices == null) return null;
        if (devices.length < 1 || devices.length > 2) {
            return "--devices takes one device ordinal or two (CFG-parallel runs one half of the guidance batch on each), got " + devices.length;
        }
        for (int d : devices) if (d < 0) return "--devices: device ordinals are 0 or more, got " + d;
        if (!device.equals("cuda") && !device.equals("jvm")) {
            return "--devices is for --device cuda (or jvm, to test the two-device run on the CPU); --device " + device + " runs on one device";
        }
        return null;
    }

    /**
     * Opens the backends: {@code ordinals} empty = the backend's default device. An ordinal the machine does not have
     * is bad input naming --devices (exit code 2); a backend that fails to start closes those already opened.
     */
    static DeviceBackends open(String device, List<Integer> ordinals) {
        if (ordinals.isEmpty()) return new DeviceBackends(device, List.of(Backends.create(device)), ordinals);
        BackendProvider provider = Backends.provider(device);
        if (!provider.isAvailable()) throw new IllegalStateException("backend '" + device + "' is not available: " + provider.unavailableReason());
        if (device.equals("cuda")) {
            int count = provider.deviceCount();
            for (int o : ordinals) {
                if (o >= count) throw new CliErrors.BadInputException("--devices: there is no CUDA device " + o + "; this machine has "
                        + count + " (numbered from 0, after CUDA_VISIBLE_DEVICES)");
            }
        }
        List<Backend> opened = new ArrayList<>();
        try {
            for (int o : ordinals) opened.add(device.equals("jvm") ? Backends.create("jvm") : Backends.create(device, o));
        } catch (RuntimeException | Error e) {
            opened.forEach(Backend::close);
            throw e;
        }
        return new DeviceBackends(device, opened, ordinals);
    }

    /** Backends opened elsewhere (tests), as one run's. */
    static DeviceBackends of(String device, List<Backend> backends) {
        return new DeviceBackends(device, backends, java.util.stream.IntStream.range(0, backends.size()).boxed().toList());
    }

    List<Backend> backends() { return backends; }

    Backend first() { return backends.get(0); }

    /** The device in words; with two, which half of the guidance batch each runs. */
    String description() {
        if (backends.size() == 1) return first().deviceDescription();
        return device + ":" + ordinals.get(0) + " " + first().deviceDescription() + " + " + device + ":" + ordinals.get(1) + " "
                + backends.get(1).deviceDescription() + " (CFG-parallel: unconditional half on " + device + ":" + ordinals.get(0)
                + ", conditional half on " + device + ":" + ordinals.get(1) + ")";
    }

    @Override
    public void close() {
        for (int i = backends.size() - 1; i >= 0; i--) backends.get(i).close();
    }
}
