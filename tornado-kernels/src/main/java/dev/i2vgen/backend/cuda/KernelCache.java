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
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Logger;

/**
 * Kernels JIT-compiled by NVRTC from the {@code .cu} resources, one module per (family, activation
 * dtype), cached on disk under {@code ~/.cache/i2vgen/ptx} by the hash of source, options and NVRTC
 * version, so a second start skips the compiler. Modules live as long as the backend.
 * <p>The image is the device's own machine code (a CUBIN for {@code sm_XY}) by default: PTX would leave the driver
 * a second compilation at every module load that its JIT cache misses (24.6 s of thread time for I2VGen-XL's
 * families with an empty cache on an H100, section 19 of the performance notes). {@code -Di2vgen.cuda.kernelImage=ptx}
 * keeps PTX; an NVRTC that does not know the device's {@code sm_XY} falls back to PTX by itself.
 * <p>{@link #prefetch} compiles every family of an activation dtype at once on a pool of threads (NVRTC is
 * thread-safe; the families are independent), and loads each module there as soon as its PTX is ready, with the
 * backend's context made current on that thread; a plan asking for a kernel waits only for its own family. Without
 * a prefetch ({@code -Di2vgen.cuda.parallelCompile=false}) a family is compiled and loaded on the thread that first
 * asks for it, one after another; {@code -Di2vgen.cuda.backgroundModuleLoad=false} keeps the parallel compilation and
 * loads the modules on the asking thread.
 */
final class KernelCache implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(KernelCache.class.getName());

    /** NVRTC (a fake in the unit test). */
    interface Compiler {
        String version();

        /**
         * The module image of {@code source} (named {@code name} in messages): a CUBIN when {@code cubin}, else PTX
         * ending in a NUL; throws with the compiler's log, {@link Nvrtc.OptionsRefused} for options NVRTC rejects.
         */
        byte[] compile(String name, String source, List<String> options, boolean cubin);
    }

    /** The driver's modules on the backend's context (a fake in the unit test). */
    interface Modules {
        /** Makes the backend's context current on the calling thread. */
        void makeCurrent();

        MemorySegment load(byte[] image);

        void unload(MemorySegment module);

        MemorySegment function(MemorySegment module, String name);
    }

    private final Compiler nvrtc;
    private final Modules driver;
    private final String arch;          // "compute_90"
    private final Path cacheDir;
    /** Null when compilation is not parallel. */
    private final ExecutorService compilers;
    private final int compilerThreads;
    private final boolean backgroundLoad;
    /** CUBIN images for {@code sm_XY} (else PTX for {@code compute_XY}). */
    private final boolean cubin;
    private final Map<String, CompletableFuture<Image>> images = new ConcurrentHashMap<>();

    /** A module image: a CUBIN, or PTX text ending in a NUL. */
    private record Image(byte[] bytes, boolean cubin) {}
    private final Map<String, CompletableFuture<MemorySegment>> modules = new ConcurrentHashMap<>();
    private final Map<String, MemorySegment> functions = new ConcurrentHashMap<>();
    private volatile boolean closed;
    /**
     * Thread time, on any thread, in NVRTC, in getting module images (NVRTC or the disk cache) and in module loading; and the
     * time the asking threads (plans being built) spent getting modules, waits included (I2VGEN_TIMINGS=1).
     */
    final LongAdder compileNanos = new LongAdder(), imageNanos = new LongAdder(), loadNanos = new LongAdder(), waitNanos = new LongAdder();
    /** Modules compiled by NVRTC, and read from the disk cache. */
    final AtomicInteger compiled = new AtomicInteger(), fromDisk = new AtomicInteger();

    /**
     * @param arch            the device's virtual architecture, {@code compute_XY}
     * @param compilerThreads threads compiling (and loading, with {@code backgroundLoad}) in parallel; 0: every family
     *                        on the thread that first asks for it
     * @param cubin           compile to the device's machine code ({@code sm_XY}) rather than PTX
     */
    KernelCache(Compiler nvrtc, Modules driver, String arch, Path cacheDir, int compilerThreads, boolean backgroundLoad, boolean cubin) {
        if (!arch.startsWith("compute_")) throw new IllegalArgumentException("arch must be compute_XY, not " + arch);
        this.cubin = cubin;
        this.nvrtc = nvrtc;
        this.driver = driver;
        this.arch = arch;
        this.cacheDir = cacheDir;
        this.compilerThreads = compilerThreads;
        this.compilers = compilerThreads > 0
                ? Executors.newFixedThreadPool(compilerThreads, Thread.ofPlatform().daemon().name("nvrtc-compile-", 0).factory()) : null;
        this.backgroundLoad = compilerThreads > 0 && backgroundLoad;
    }

    /**
     * The backend's kernels: NVRTC, the driver on {@code context}, the device's architecture, the threads of
     * {@code -Di2vgen.cuda.parallelCompile} (on: up to 8, by the cores), {@code -Di2vgen.cuda.backgroundModuleLoad} and
     * {@code -Di2vgen.cuda.kernelImage} ({@code cubin}, the default, or {@code ptx}).
     */
    static KernelCache onDevice(CudaDriver driver, Nvrtc nvrtc, MemorySegment context, int ccMajor, int ccMinor, Path cacheDir) {
        boolean parallel = !"false".equals(System.getProperty("i2vgen.cuda.parallelCompile"));
        return new KernelCache(new Compiler() {
            @Override public String version() { return nvrtc.version(); }

            @Override public byte[] compile(String name, String source, List<String> options, boolean cubin) { return nvrtc.compile(name, source, options, cubin); }
        }, new Modules() {
            @Override public void makeCurrent() { driver.setCurrent(context); }

            @Override public MemorySegment load(byte[] image) { return driver.loadModule(image); }

            @Override public void unload(MemorySegment module) { driver.unloadModule(module); }

            @Override public MemorySegment function(MemorySegment module, String name) { return driver.function(module, name); }
        }, "compute_" + ccMajor + ccMinor, cacheDir, parallel ? Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 8)) : 0,
                !"false".equals(System.getProperty("i2vgen.cuda.backgroundModuleLoad")), cubinByProperty());
    }

    /** {@code -Di2vgen.cuda.kernelImage}: {@code cubin} (default) or {@code ptx}. */
    static boolean cubinByProperty() {
        String v = System.getProperty("i2vgen.cuda.kernelImage", "cubin");
        return switch (v) {
            case "cubin" -> true;
            case "ptx" -> false;
            default -> throw new IllegalArgumentException("-Di2vgen.cuda.kernelImage must be cubin or ptx, not " + v);
        };
    }

    /** Whether modules are the device's machine code (CUBIN) rather than PTX. */
    boolean compilesCubin() { return cubin; }

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

    /** Threads compiling in parallel (0: compilation on the asking thread). */
    int compilerThreads() { return compilerThreads; }

    /** Whether modules are loaded on the compiling threads. */
    boolean loadsInBackground() { return backgroundLoad; }

    /**
     * Starts compiling (and loading) every family a plan computing in {@code activation} may use, on the pool;
     * returns at once. Families already started are left alone; nothing happens when compilation is not parallel.
     */
    void prefetch(DType activation) {
        if (compilers == null || closed || !(activation == DType.F32 || activation == DType.F16 || activation == DType.BF16)) return;
        try {
            for (String family : families(activation)) {
                String key = key(family, activation);
                CompletableFuture<Image> text = images.computeIfAbsent(key,
                        k -> CompletableFuture.supplyAsync(() -> compile(family, activation), compilers));
                if (backgroundLoad) modules.computeIfAbsent(key, k -> text.thenApplyAsync(image -> loadOnPoolThread(family, activation, image), compilers));
            }
        } catch (RejectedExecutionException e) {
            // closing: the plans that would have used them are not built
        }
    }

    /**
     * The families to compile ahead for an activation dtype: all portable ones, and on compute capability 9.0 for
     * 16-bit types the Hopper-only ones the settings will launch (the v5 attention; the v6 kernels and the fused
     * GEGLU only when switched on: a family nobody launches would cost NVRTC seconds for nothing).
     */
    private List<String> families(DType activation) {
        List<String> all = new ArrayList<>(KernelSources.FAMILIES);
        if (activation != DType.F32 && AttentionLowering.variantsModuleUsed()) all.add("attention_variants");
        if (arch.equals("compute_90") && activation != DType.F32) {
            String variant = AttentionLowering.flashVariant();
            if (Sm90FlashAttention.VARIANTS.contains(variant)) all.add(Sm90FlashAttention.familyOf(variant));
            if (GegluFusion.enabledByProperty()) all.add("geglu_sm90");
        }
        return all;
    }

    /** The kernel {@code name} of {@code family} compiled for {@code activation}. */
    MemorySegment function(String family, String name, DType activation) {
        String key = family + "/" + activation + "/" + name;
        MemorySegment f = functions.get(key);
        if (f != null) return f;
        MemorySegment module = module(family, activation);   // may wait for the compiler: not inside the map's lock
        return functions.computeIfAbsent(key, k -> driver.function(module, name));
    }

    private static String key(String family, DType activation) { return family + "/" + activation; }

    private MemorySegment module(String family, DType activation) {
        String key = key(family, activation);
        CompletableFuture<MemorySegment> f = modules.get(key);
        if (f != null && f.isDone() && !f.isCompletedExceptionally()) return f.join();
        long t0 = System.nanoTime();
        try {
            if (f == null) {
                CompletableFuture<MemorySegment> mine = new CompletableFuture<>();
                f = modules.putIfAbsent(key, mine);
                if (f == null) {
                    f = mine;
                    try {   // on this thread, whose context is current
                        mine.complete(load(family, activation, await(images, key, imageOf(family, activation))));
                    } catch (RuntimeException | Error e) {
                        mine.completeExceptionally(e);
                    }
                }
            }
            try {
                return await(modules, key, f);
            } catch (RuntimeException | Error e) {
                images.computeIfPresent(key, (k, p) -> p.isCompletedExceptionally() ? null : p);   // a failed compile is tried again too
                throw e;
            }
        } finally {
            waitNanos.add(System.nanoTime() - t0);
        }
    }

    /** The image of a family: the pool's compile when one was started, else compiled (or read from disk) now, on this thread. */
    private CompletableFuture<Image> imageOf(String family, DType activation) {
        String key = key(family, activation);
        CompletableFuture<Image> f = images.get(key);
        if (f != null) return f;
        CompletableFuture<Image> mine = new CompletableFuture<>();
        f = images.putIfAbsent(key, mine);
        if (f != null) return f;
        try {
            mine.complete(compile(family, activation));
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
        }
        return mine;
    }

    /** The future's value; a failed one is forgotten (the next request tries again) and its failure thrown as it was. */
    private static <T> T await(Map<String, CompletableFuture<T>> map, String key, CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (CompletionException | CancellationException e) {
            map.remove(key, f);
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof RuntimeException r) throw r;
            if (cause instanceof Error r) throw r;
            throw new CudaException("kernels " + key + ": " + cause, cause);
        }
    }

    private MemorySegment loadOnPoolThread(String family, DType activation, Image image) {
        if (closed) throw new CancellationException("the CUDA backend is closing");
        driver.makeCurrent();   // current per thread: this pool thread's first load makes it so
        return load(family, activation, image);
    }

    /**
     * The module of an image; a CUBIN the driver refuses (one this driver cannot run, a damaged cache file) is
     * replaced by the family's PTX, which the driver compiles itself: slower to load, never a failed plan.
     */
    private MemorySegment load(String family, DType activation, Image image) {
        long t0 = System.nanoTime(), fallbackCompile = 0;
        try {
            return driver.load(image.bytes());
        } catch (CudaException e) {
            if (!image.cubin()) throw e;
            LOG.warning("the driver refused the CUBIN of " + family + "/" + activation + " (" + e.getMessage() + "); loading its PTX instead");
            long c0 = System.nanoTime();
            Image ptx = compileOrRead(family, activation, virtualTarget(family), false);
            fallbackCompile = System.nanoTime() - c0;   // compilation (counted there), not loading
            return driver.load(ptx.bytes());
        } finally {
            loadNanos.add(System.nanoTime() - t0 - fallbackCompile);
        }
    }

    /** The image of a family: from the disk cache, else compiled by NVRTC and written to the cache (atomically). */
    private Image compile(String family, DType activation) {
        long t0 = System.nanoTime();
        try {
            return compileOrRead(family, activation);
        } finally {
            imageNanos.add(System.nanoTime() - t0);
        }
    }

    /** The virtual architecture a family compiles for: the device's, {@code compute_90a} for the wgmma families. */
    private String virtualTarget(String family) {
        if (!KernelSources.SM90A_FAMILIES.contains(family)) return arch;
        if (!arch.equals("compute_90")) throw new IllegalStateException(family + " kernels need compute capability 9.0, not " + arch);
        return "compute_90a";   // wgmma: the arch-specific target, Hopper only
    }

    private Image compileOrRead(String family, DType activation) {
        String target = virtualTarget(family);
        if (cubin) {
            try {
                return compileOrRead(family, activation, target.replace("compute_", "sm_"), true);
            } catch (Nvrtc.OptionsRefused e) {   // an NVRTC older than the device: its PTX, JIT-compiled by the driver
                LOG.warning(e.getMessage() + "; compiling " + family + " to PTX for " + target + " instead");
            }
        }
        return compileOrRead(family, activation, target, false);
    }

    private Image compileOrRead(String family, DType activation, String target, boolean toCubin) {
        String source = KernelSources.translationUnit(family);
        List<String> options = List.of("--gpu-architecture=" + target, "-DACT_DTYPE=" + actCode(activation), "--std=c++17");
        String hash = sha256(source + "\0" + options + "\0" + nvrtc.version());
        Path cached = cacheDir.resolve(family + "-" + activation + "-" + target + "-" + hash.substring(0, 24) + (toCubin ? ".cubin" : ".ptx"));
        try {
            if (Files.isReadable(cached)) {
                byte[] image = Files.readAllBytes(cached);
                fromDisk.incrementAndGet();
                return new Image(image, toCubin);
            }
        } catch (IOException e) {
            LOG.warning("unreadable kernel cache file " + cached + ", recompiling: " + e);
        }
        long t0 = System.nanoTime();
        byte[] image = nvrtc.compile(family + ".cu", source, options, toCubin);
        compileNanos.add(System.nanoTime() - t0);
        compiled.incrementAndGet();
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, family, ".tmp");
            Files.write(tmp, image);
            Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warning("cannot write kernel cache " + cached + " (continuing without it): " + e);
        }
        return new Image(image, toCubin);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Drops the compilations not started, waits for those running (NVRTC cannot be interrupted) and for loads in
     * progress, then unloads every module loaded.
     */
    @Override
    public void close() {
        closed = true;
        if (compilers != null) {
            compilers.shutdownNow();
            try {
                if (!compilers.awaitTermination(5, TimeUnit.MINUTES)) LOG.warning("NVRTC compilations still running at close");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        CancellationException closing = new CancellationException("the CUDA backend is closed");
        for (CompletableFuture<MemorySegment> f : modules.values()) {
            if (!f.completeExceptionally(closing) && !f.isCompletedExceptionally()) driver.unload(f.join());
        }
        images.values().forEach(f -> f.completeExceptionally(closing));
        modules.clear();
        images.clear();
        functions.clear();
    }
}
