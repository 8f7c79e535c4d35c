package dev.i2vgen.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The CUDA C++ kernel families shipped as resources, each compiled with {@code common.cuh} in front. */
public final class KernelSources {
    private KernelSources() {}

    /** Every kernel family (a {@code .cu} resource next to this class's package path). */
    public static final List<String> FAMILIES = List.of("elementwise", "normalization", "layout", "attention", "conv", "gemm");

    /**
     * Families that use Hopper-only instructions (wgmma, TMA, setmaxnreg): compiled for compute_90a (fp16/bf16 only),
     * on compute capability 9.0 devices only; not in {@link #FAMILIES}, which compile for every architecture.
     */
    public static final List<String> SM90A_FAMILIES = List.of("attention_sm90", "attention_sm90_ws", "geglu_sm90");

    /**
     * Portable families only non-default settings launch (the v2 wide and v4 flash attention kernels): not in
     * {@link #FAMILIES}, so they are not compiled ahead unless the setting selects them, and the default start's
     * slowest compile (the attention family's, its critical path with an empty kernel cache) stays short.
     */
    public static final List<String> ON_DEMAND_FAMILIES = List.of("attention_variants");

    private static final String DIR = "/dev/i2vgen/backend/cuda/";
    private static final Pattern INCLUDE = Pattern.compile("\\s*#include\\s+\"([\\w.]+)\"\\s*");

    /**
     * The full translation unit of a family: common.cuh, then the family's source with each {@code #include "name"} line
     * replaced by that resource, itself inlined the same way, each header once (NVRTC gets no include path): the flash
     * attention kernels' header, and the mma.sync helpers it shares with the convolution.
     */
    public static String translationUnit(String family) {
        return resource("common.cuh") + "\n" + withIncludesInlined(family + ".cu", new java.util.HashSet<>());
    }

    private static String withIncludesInlined(String file, java.util.Set<String> inlined) {
        StringBuilder out = new StringBuilder("#line 1 \"" + file + "\"\n");
        List<String> lines = resource(file).lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            Matcher include = INCLUDE.matcher(lines.get(i));
            if (!include.matches()) {
                out.append(lines.get(i)).append('\n');
            } else if (inlined.add(include.group(1))) {
                out.append(withIncludesInlined(include.group(1), inlined))
                        .append("#line ").append(i + 2).append(" \"").append(file).append("\"\n");
            } else {
                out.append('\n');   // inlined before: once, as #pragma once would
            }
        }
        return out.toString();
    }

    static String resource(String name) {
        try (InputStream in = KernelSources.class.getResourceAsStream(DIR + name)) {
            if (in == null) throw new IllegalStateException("kernel source resource " + DIR + name + " is missing from the classpath");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + DIR + name, e);
        }
    }
}
