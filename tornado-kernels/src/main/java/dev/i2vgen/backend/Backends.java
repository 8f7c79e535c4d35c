package dev.i2vgen.backend;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds backends by name through the service loader. */
public final class Backends {
    private Backends() {}

    public static List<BackendProvider> providers() {
        List<BackendProvider> out = new ArrayList<>();
        ServiceLoader.load(BackendProvider.class).forEach(out::add);
        return out;
    }

    public static BackendProvider provider(String name) {
        for (BackendProvider p : providers()) if (p.name().equalsIgnoreCase(name)) return p;
        throw new IllegalArgumentException("unknown backend '" + name + "'; known: "
                + providers().stream().map(BackendProvider::name).toList());
    }

    /** Creates the named backend, or throws with the provider's reason when it is not available here. */
    public static Backend create(String name) {
        BackendProvider p = provider(name);
        if (!p.isAvailable()) throw new IllegalStateException("backend '" + name + "' is not available: " + p.unavailableReason());
        return p.create();
    }

    /** Creates the named backend on its device {@code ordinal} ({@link BackendProvider#create(int)}). */
    public static Backend create(String name, int ordinal) {
        BackendProvider p = provider(name);
        if (!p.isAvailable()) throw new IllegalStateException("backend '" + name + "' is not available: " + p.unavailableReason());
        return p.create(ordinal);
    }
}
