package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Kernels JIT-compiled by NVRTC from the {@code .cu} resources, one module per (family, activation
 * dtype), PTX cached on disk under {@code ~/.cache/i2vgen/ptx} by the hash of source, options and NVRTC
 * version, so a second start skips the compiler. Modules live as long as the backend.
 */
final class KernelCache implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KernelCache.class.getName());

    private final CudaDriver driver;
    private final Nvrtc nvrtc;
    private final String arch;          // "compute_90"
    private final Path cacheDir;
    private final Map<String, MemorySegment> modules = new ConcurrentHashMap<>();
    private final Map<String, MemorySegment> functions = new ConcurrentHashMap<>();
    /** Thread time in NVRTC and in module loading (I2VGEN_TIMINGS=1). */
    final java.util.concurrent.atomic.LongAdder compileNanos = new java.util.concurrent.atomic.LongAdder(),
            loadNanos = new java.util.concurrent.atomic.LongAdder();

    KernelCache(CudaDriver driver, Nvrtc nvrtc, int ccMajor, int ccMinor, Path cacheDir) {
        this.driver = driver;
        this.nvrtc = nvrtc;
        this.arch = "compute_" + ccMajor + ccMinor;
        this.cacheDir = cacheDir;
    }

    static Path defaultCacheDir() {
        String override = System.getProperty("i2vgen.ptx.cache");
        return override != null ? Path.of(override) : Path.of(System.getProperty("user.home"), ".cache", "i2vgen", "ptx");
    }

    static int actCode(DType activation) {
        return switch (activation) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 2;
            default -> throw new IllegalArgumentException("activation dtype must be F32, F16 or BF16, not " + activation);
        };
    }

    /** The kernel {@code name} of {@code family} compiled for {@code activation}. */
    MemorySegment function(String family, String name, DType activation) {
        String key = family + "/" + activation + "/" + name;
        return functions.computeIfAbsent(key, k -> driver.function(module(family, activation), name));
    }

    private MemorySegment module(String family, DType activation) {
        return modules.computeIfAbsent(family + "/" + activation, k -> {
            String ptx = ptx(family, activation);
            long t0 = System.nanoTime();
            MemorySegment module = driver.loadModule(ptx);
            loadNanos.add(System.nanoTime() - t0);
            return module;
        });
    }

    private String ptx(String family, DType activation) {
        String source = KernelSources.translationUnit(family);
        String target = arch;
        if (KernelSources.SM90A_FAMILIES.contains(family)) {   // wgmma: the arch-specific target, Hopper only
            if (!arch.equals("compute_90")) throw new IllegalStateException(family + " kernels need compute capability 9.0, not " + arch);
            target = "compute_90a";
        }
        List<String> options = List.of("--gpu-architecture=" + target, "-DACT_DTYPE=" + actCode(activation), "--std=c++17");
        String hash = sha256(source + "\0" + options + "\0" + nvrtc.version());
        Path cached = cacheDir.resolve(family + "-" + activation + "-" + target + "-" + hash.substring(0, 24) + ".ptx");
        try {
            if (Files.isReadable(cached)) return Files.readString(cached, StandardCharsets.UTF_8);
        } catch (IOException e) {
            LOG.warning("unreadable PTX cache file " + cached + ", recompiling: " + e);
        }
        long t0 = System.nanoTime();
        String ptx = nvrtc.compileToPtx(family + ".cu", source, options);
        compileNanos.add(System.nanoTime() - t0);
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, family, ".tmp");
            Files.writeString(tmp, ptx, StandardCharsets.UTF_8);
            Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warning("cannot write PTX cache " + cached + " (continuing without it): " + e);
        }
        return ptx;
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        modules.values().forEach(driver::unloadModule);
        modules.clear();
        functions.clear();
    }
}
