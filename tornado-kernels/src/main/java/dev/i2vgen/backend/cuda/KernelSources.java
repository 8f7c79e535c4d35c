package dev.i2vgen.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The CUDA C++ kernel families shipped as resources, each compiled with {@code common.cuh} in front. */
public final class KernelSources {
    private KernelSources() {}

    /** Every kernel family (a {@code .cu} resource next to this class's package path). */
    public static final List<String> FAMILIES = List.of("elementwise", "normalization", "layout", "attention", "conv", "gemm");

    /**
     * Families that use Hopper-only instructions (wgmma, TMA, setmaxnreg): compiled for compute_90a (fp16/bf16 only),
     * on compute capability 9.0 devices only; not in {@link #FAMILIES}, which compile for every architecture.
     */
    public static final List<String> SM90A_FAMILIES = List.of("attention_sm90", "geglu_sm90");

    private static final String DIR = "/dev/i2vgen/backend/cuda/";

    /** The full translation unit of a family: common.cuh, then the family's source. */
    public static String translationUnit(String family) {
        return resource("common.cuh") + "\n#line 1 \"" + family + ".cu\"\n" + resource(family + ".cu");
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
