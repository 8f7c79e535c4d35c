package dev.i2vgen.backend.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OpenCL C kernel families shipped as resources ({@code common.cl} in front of each), built at run
 * time for the backend's device on first use and kept for the life of its context. Built without
 * fast-math options: results must match the JVM backend to fp32 rounding.
 */
final class OpenClPrograms implements AutoCloseable {
    /** Every kernel family, one {@code .cl} resource each. */
    static final List<String> FAMILIES = List.of("elementwise", "normalization", "layout", "gemm", "attention");
    private static final String DIR = "/dev/i2vgen/backend/opencl/";
    private static final String OPTIONS = "-cl-std=CL1.2";

    private final OpenCl cl;
    private final MemorySegment context;
    private final OpenClDevice device;
    private final Map<String, MemorySegment> programs = new ConcurrentHashMap<>();

    OpenClPrograms(OpenCl cl, MemorySegment context, OpenClDevice device) {
        this.cl = cl;
        this.context = context;
        this.device = device;
    }

    /** The built program of {@code family}. */
    MemorySegment program(String family) {
        return programs.computeIfAbsent(family, f -> cl.buildProgram(context, device.id(), f + ".cl", source(f), OPTIONS));
    }

    /** The full source of a family: common.cl, then the family's file. */
    static String source(String family) {
        if (!FAMILIES.contains(family)) throw new IllegalArgumentException("unknown OpenCL kernel family '" + family + "'; known: " + FAMILIES);
        return resource("common.cl") + "\n" + resource(family + ".cl");
    }

    private static String resource(String name) {
        try (InputStream in = OpenClPrograms.class.getResourceAsStream(DIR + name)) {
            if (in == null) throw new IllegalStateException("OpenCL kernel source " + DIR + name + " is missing from the classpath");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read OpenCL kernel source " + DIR + name, e);
        }
    }

    @Override
    public void close() {
        programs.values().forEach(cl::releaseProgram);
        programs.clear();
    }
}
