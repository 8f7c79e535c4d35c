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
 * dtype), PTX cached on disk under {@code ~/.cache/i2vgen/ptx} by the hash of source, options and NVRTC
 * version, so a second start skips the compiler. Modules live as long as the backend.
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

        /** PTX of {@code source} (named {@code name} in messages); throws with the compiler's log. */
        String compileToPtx(String name, String source, List<String> options);
    }

    /** The driver's modules on the backend's context (a fake in the unit test). */
    interface Modules {
        /** Makes the backend's context current on the calling thread. */
        void makeCurrent();

        MemorySegment load(String ptx);

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
    private final Map<String, CompletableFuture<String>> ptx = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<MemorySegment>> modules = new ConcurrentHashMap<>();
    private final Map<String, MemorySegment> functions = new ConcurrentHashMap<>();
    private volatile boolean closed;
    /**
     * Thread time, on any thread, in NVRTC, in getting PTX (NVRTC or the disk cache) and in module loading; and the
     * time the asking threads (plans being built) spent getting modules, waits included (I2VGEN_TIMINGS=1).
     */
    final LongAdder compileNanos = new LongAdder(), ptxNanos = new LongAdder(), loadNanos = new LongAdder(), waitNanos = new LongAdder();
    /** Modules compiled by NVRTC, and read from the disk cache. */
    final AtomicInteger compiled = new AtomicInteger(), fromDisk = new AtomicInteger();

    /**
     * @param compilerThreads threads compiling (and loading, with {@code backgroundLoad}) in parallel; 0: every family
     *                        on the thread that first asks for it
     */
    KernelCache(Compiler nvrtc, Modules driver, String arch, Path cacheDir, int compilerThreads, boolean backgroundLoad) {
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
     * {@code -Di2vgen.cuda.parallelCompile} (on: up to 8, by the cores) and {@code -Di2vgen.cuda.backgroundModuleLoad}.
     */
    static KernelCache onDevice(CudaDriver driver, Nvrtc nvrtc, MemorySegment context, int ccMajor, int ccMinor, Path cacheDir) {
        boolean parallel = !"false".equals(System.getProperty("i2vgen.cuda.parallelCompile"));
        return new KernelCache(new Compiler() {
            @Override public String version() { return nvrtc.version(); }

            @Override public String compileToPtx(String name, String source, List<String> options) { return nvrtc.compileToPtx(name, source, options); }
        }, new Modules() {
            @Override public void makeCurrent() { driver.setCurrent(context); }

            @Override public MemorySegment load(String ptx) { return driver.loadModule(ptx); }

            @Override public void unload(MemorySegment module) { driver.unloadModule(module); }

            @Override public MemorySegment function(MemorySegment module, String name) { return driver.function(module, name); }
        }, "compute_" + ccMajor + ccMinor, cacheDir, parallel ? Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 8)) : 0,
                !"false".equals(System.getProperty("i2vgen.cuda.backgroundModuleLoad")));
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
                CompletableFuture<String> text = ptx.computeIfAbsent(key,
                        k -> CompletableFuture.supplyAsync(() -> compile(family, activation), compilers));
                if (backgroundLoad) modules.computeIfAbsent(key, k -> text.thenApplyAsync(this::loadOnPoolThread, compilers));
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
                        mine.complete(load(await(ptx, key, ptxOf(family, activation))));
                    } catch (RuntimeException | Error e) {
                        mine.completeExceptionally(e);
                    }
                }
            }
            try {
                return await(modules, key, f);
            } catch (RuntimeException | Error e) {
                ptx.computeIfPresent(key, (k, p) -> p.isCompletedExceptionally() ? null : p);   // a failed compile is tried again too
                throw e;
            }
        } finally {
            waitNanos.add(System.nanoTime() - t0);
        }
    }

    /** The PTX of a family: the pool's compile when one was started, else compiled (or read from disk) now, on this thread. */
    private CompletableFuture<String> ptxOf(String family, DType activation) {
        String key = key(family, activation);
        CompletableFuture<String> f = ptx.get(key);
        if (f != null) return f;
        CompletableFuture<String> mine = new CompletableFuture<>();
        f = ptx.putIfAbsent(key, mine);
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

    private MemorySegment loadOnPoolThread(String ptxText) {
        if (closed) throw new CancellationException("the CUDA backend is closing");
        driver.makeCurrent();   // current per thread: this pool thread's first load makes it so
        return load(ptxText);
    }

    private MemorySegment load(String ptxText) {
        long t0 = System.nanoTime();
        MemorySegment module = driver.load(ptxText);
        loadNanos.add(System.nanoTime() - t0);
        return module;
    }

    /** The PTX of a family: from the disk cache, else compiled by NVRTC and written to the cache (atomically). */
    private String compile(String family, DType activation) {
        long t0 = System.nanoTime();
        try {
            return compileOrRead(family, activation);
        } finally {
            ptxNanos.add(System.nanoTime() - t0);
        }
    }

    private String compileOrRead(String family, DType activation) {
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
            if (Files.isReadable(cached)) {
                String text = Files.readString(cached, StandardCharsets.UTF_8);
                fromDisk.incrementAndGet();
                return text;
            }
        } catch (IOException e) {
            LOG.warning("unreadable PTX cache file " + cached + ", recompiling: " + e);
        }
        long t0 = System.nanoTime();
        String text = nvrtc.compileToPtx(family + ".cu", source, options);
        compileNanos.add(System.nanoTime() - t0);
        compiled.incrementAndGet();
        try {
            Files.createDirectories(cacheDir);
            Path tmp = Files.createTempFile(cacheDir, family, ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, cached, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warning("cannot write PTX cache " + cached + " (continuing without it): " + e);
        }
        return text;
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
        ptx.values().forEach(f -> f.completeExceptionally(closing));
        modules.clear();
        ptx.clear();
        functions.clear();
    }
}
