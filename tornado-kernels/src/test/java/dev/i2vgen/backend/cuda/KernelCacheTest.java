package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How {@link KernelCache} compiles and loads kernel families, on a fake NVRTC and driver (no GPU). */
class KernelCacheTest {
    @TempDir Path cacheDir;

    /** Records each compile's family and thread; a family may be held until the test releases it. */
    static class FakeNvrtc implements KernelCache.Compiler {
        final List<String> compiles = Collections.synchronizedList(new ArrayList<>());
        final Set<String> threads = ConcurrentHashMap.newKeySet();
        final Map<String, CountDownLatch> holds = new ConcurrentHashMap<>();
        final AtomicInteger failures = new AtomicInteger();
        volatile String failing;

        @Override public String version() { return "13.0"; }

        /** Architectures this fake NVRTC refuses, as one too old for the device would. */
        final Set<String> unknownTargets = ConcurrentHashMap.newKeySet();

        /** How long each compile to PTX takes (CUBINs are instantaneous). */
        volatile long ptxMillis;

        @Override
        public byte[] compile(String name, String source, List<String> options, boolean cubin) {
            String family = name.replace(".cu", "");
            String target = options.get(0).replace("--gpu-architecture=", "");
            assertEquals(cubin, target.startsWith("sm_"), "a CUBIN exactly for sm_XY targets: " + options);
            if (unknownTargets.contains(target)) throw new Nvrtc.OptionsRefused("unknown " + target);
            compiles.add(family + " " + options.get(1));
            threads.add(Thread.currentThread().getName());
            CountDownLatch hold = holds.get(family);
            try {
                if (hold != null && !hold.await(30, TimeUnit.SECONDS)) throw new IllegalStateException(family + " never released");
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            if (family.equals(failing) && failures.getAndIncrement() == 0) throw new CudaException("NVRTC could not compile " + name + ": simulated");
            if (!cubin && ptxMillis > 0) {
                try {
                    Thread.sleep(ptxMillis);
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return ((cubin ? "cubin of " : "// ptx of ") + name + " " + options).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** Modules as numbers; remembers on which thread each was loaded and whether the context was current there. */
    static class FakeDriver implements KernelCache.Modules {
        private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);
        final AtomicLong next = new AtomicLong(1);
        final Map<Long, String> loaded = new ConcurrentHashMap<>();
        final List<Long> unloaded = Collections.synchronizedList(new ArrayList<>());

        @Override public void makeCurrent() { current.set(true); }

        final List<String> images = Collections.synchronizedList(new ArrayList<>());

        /** Refuses CUBINs, as a driver that cannot run them would. */
        volatile boolean refusesCubins;

        @Override
        public MemorySegment load(byte[] image) {
            String text = new String(image, java.nio.charset.StandardCharsets.UTF_8);
            if (refusesCubins && text.startsWith("cubin of ")) throw new CudaException("cuModuleLoadData failed: CUDA_ERROR_NO_BINARY_FOR_GPU (simulated)");
            images.add(text);
            long id = next.getAndIncrement();
            loaded.put(id, Thread.currentThread().getName() + (current.get() ? " (context current)" : " (NO CONTEXT)"));
            return MemorySegment.ofAddress(id);
        }

        @Override public void unload(MemorySegment module) { unloaded.add(module.address()); }

        @Override public MemorySegment function(MemorySegment module, String name) { return MemorySegment.ofAddress(module.address() * 1000 + name.length()); }
    }

    private final FakeNvrtc nvrtc = new FakeNvrtc();
    private final FakeDriver driver = new FakeDriver();

    private KernelCache cache(String arch, int threads, boolean backgroundLoad) {
        return cache(arch, threads, backgroundLoad, false);
    }

    private KernelCache cache(String arch, int threads, boolean backgroundLoad, boolean cubin) {
        driver.makeCurrent();   // the test thread is the plan's thread: its context is current, as CudaBackend.compile makes it
        return new KernelCache(nvrtc, driver, arch, cacheDir, threads, backgroundLoad, cubin);
    }

    @Test
    void aPrefetchCompilesEveryFamilyAtOnceAndLoadsThemOnThePool() throws Exception {
        int families = KernelSources.FAMILIES.size();
        CountDownLatch allRunning = new CountDownLatch(families);
        for (String f : KernelSources.FAMILIES) {   // each compile waits until every family is compiling: one at a time would never finish
            CountDownLatch hold = new CountDownLatch(1);
            nvrtc.holds.put(f, hold);
            new Thread(() -> {
                try {
                    if (allRunning.await(30, TimeUnit.SECONDS)) hold.countDown();
                } catch (InterruptedException ignored) {
                }
            }).start();
        }
        KernelCache.Compiler counting = new KernelCache.Compiler() {
            @Override public String version() { return nvrtc.version(); }

            @Override
            public byte[] compile(String name, String source, List<String> options, boolean cubin) {
                allRunning.countDown();
                return nvrtc.compile(name, source, options, cubin);
            }
        };
        try (KernelCache kernels = new KernelCache(counting, driver, "compute_80", cacheDir, 8, true, false)) {
            kernels.prefetch(DType.F16);
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> kernels.function("gemm", "repack_taps", DType.F16));
            for (String f : KernelSources.FAMILIES) kernels.function(f, "k", DType.F16);
            assertEquals(families, nvrtc.compiles.size(), "each family once: " + nvrtc.compiles);
            assertTrue(nvrtc.threads.size() > 1, "compiled on several threads: " + nvrtc.threads);
            assertFalse(nvrtc.threads.contains(Thread.currentThread().getName()));
            assertEquals(families, driver.loaded.size());
            for (String where : driver.loaded.values()) assertTrue(where.startsWith("nvrtc-compile") && where.endsWith("(context current)"), where);
            assertEquals(families, kernels.compiled.get());
        }
        assertEquals(families, driver.unloaded.size(), "close unloads every module");
    }

    @Test
    void aPlanWaitsOnlyForTheFamilyItAsksFor() {
        CountDownLatch attention = new CountDownLatch(1);
        nvrtc.holds.put("attention", attention);
        try (KernelCache kernels = cache("compute_80", 4, true)) {
            kernels.prefetch(DType.F16);
            assertTimeoutPreemptively(Duration.ofSeconds(20), () -> kernels.function("elementwise", "convert", DType.F16),
                    "elementwise is ready while attention still compiles");
            attention.countDown();
            kernels.function("attention", "flash", DType.F16);
        }
    }

    @Test
    void modulesAreLoadedOnThePlansThreadWhenAskedTo() {
        try (KernelCache kernels = cache("compute_80", 4, false)) {
            kernels.prefetch(DType.BF16);
            kernels.function("conv", "implicit_gemm", DType.BF16);
            assertEquals(1, driver.loaded.size(), "only the family asked for is loaded: " + driver.loaded);
            assertEquals(Thread.currentThread().getName() + " (context current)", driver.loaded.values().iterator().next());
        }
    }

    @Test
    void withoutParallelCompilationAFamilyCompilesWhenFirstAskedForOnThatThread() {
        try (KernelCache kernels = cache("compute_90", 0, true)) {
            kernels.prefetch(DType.F16);
            assertEquals(List.of(), nvrtc.compiles, "no prefetch");
            kernels.function("layout", "permute", DType.F16);
            kernels.function("layout", "copy_rows", DType.F16);
            assertEquals(List.of("layout -DACT_DTYPE=1"), nvrtc.compiles);
            assertEquals(Set.of(Thread.currentThread().getName()), nvrtc.threads);
            assertEquals(0, kernels.compilerThreads());
        }
    }

    @Test
    void theDiskCacheServesTheNextBackendAndOnlyHopperGetsTheWgmmaFamily() throws Exception {
        try (KernelCache kernels = cache("compute_90", 4, true)) {
            kernels.prefetch(DType.F16);
            kernels.prefetch(DType.F32);
            for (String f : KernelSources.FAMILIES) kernels.function(f, "k", DType.F32);
            kernels.function("attention_sm90", "k", DType.F16);
            kernels.function("geglu_sm90", "k", DType.F16);   // prefetched (the fused GEGLU is on by default): waits for it
            for (String f : KernelSources.FAMILIES) kernels.function(f, "k", DType.F16);
        }
        int compiles = nvrtc.compiles.size();
        assertEquals(2 * KernelSources.FAMILIES.size() + 2, compiles, "attention_sm90 and geglu_sm90 for F16 only: " + nvrtc.compiles);
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertEquals(compiles, names.size(), "one PTX file each, no temporaries: " + names);
            assertTrue(names.stream().allMatch(n -> n.endsWith(".ptx")), names.toString());
        }
        try (KernelCache again = cache("compute_90", 4, true)) {
            again.prefetch(DType.F16);
            again.function("attention_sm90", "k", DType.F16);
            again.function("geglu_sm90", "k", DType.F16);
            for (String f : KernelSources.FAMILIES) again.function(f, "k", DType.F16);
            assertEquals(compiles, nvrtc.compiles.size(), "all from the disk cache");
            assertEquals(KernelSources.FAMILIES.size() + 2, again.fromDisk.get());
        }
        try (KernelCache ampere = cache("compute_80", 4, true)) {
            ampere.prefetch(DType.F16);
            for (String f : KernelSources.FAMILIES) ampere.function(f, "k", DType.F16);
            assertThrows(IllegalStateException.class, () -> ampere.function("attention_sm90", "k", DType.F16));
        }
        assertFalse(new HashSet<>(nvrtc.compiles.subList(compiles, nvrtc.compiles.size())).contains("attention_sm90 -DACT_DTYPE=1"));
    }

    @Test
    void aFailedCompilationIsThrownToThePlanAndTriedAgainNextTime() {
        nvrtc.failing = "normalization";
        try (KernelCache kernels = cache("compute_80", 4, true)) {
            kernels.prefetch(DType.F16);
            CudaException e = assertThrows(CudaException.class, () -> kernels.function("normalization", "group_norm", DType.F16));
            assertTrue(e.getMessage().contains("could not compile normalization.cu"), e.getMessage());
            kernels.function("normalization", "group_norm", DType.F16);   // compiled again, on this thread
            assertEquals(2, nvrtc.compiles.stream().filter(c -> c.startsWith("normalization")).count());
        }
    }

    @Test
    void cubinsForTheDevicesOwnArchitectureAreCachedAndLoaded() throws Exception {
        try (KernelCache kernels = cache("compute_90", 4, true, true)) {
            assertTrue(kernels.compilesCubin());
            kernels.prefetch(DType.F16);
            kernels.function("attention_sm90", "k", DType.F16);
            kernels.function("geglu_sm90", "k", DType.F16);
            for (String f : KernelSources.FAMILIES) kernels.function(f, "k", DType.F16);
        }
        assertTrue(nvrtc.compiles.contains("attention_sm90 -DACT_DTYPE=1"));
        assertTrue(driver.images.stream().allMatch(i -> i.startsWith("cubin of ")), driver.images.toString());
        assertTrue(driver.images.stream().anyMatch(i -> i.contains("--gpu-architecture=sm_90a")), "wgmma families for sm_90a: " + driver.images);
        assertTrue(driver.images.stream().anyMatch(i -> i.contains("--gpu-architecture=sm_90,")), "the others for sm_90: " + driver.images);
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertEquals(KernelSources.FAMILIES.size() + 2, names.size(), names.toString());
            assertTrue(names.stream().allMatch(n -> n.endsWith(".cubin")), names.toString());
        }
        int compiles = nvrtc.compiles.size();
        try (KernelCache again = cache("compute_90", 4, true, true)) {
            for (String f : KernelSources.FAMILIES) again.function(f, "k", DType.F16);
            assertEquals(compiles, nvrtc.compiles.size(), "all from the disk cache");
        }
        try (KernelCache ptx = cache("compute_90", 4, true, false)) {   // a PTX cache of its own: the CUBINs are not taken for PTX
            ptx.function("layout", "permute", DType.F16);
            assertEquals(compiles + 1, nvrtc.compiles.size());
            assertTrue(driver.images.getLast().startsWith("// ptx of layout.cu [--gpu-architecture=compute_90,"), driver.images.getLast());
        }
    }

    @Test
    void anNvrtcThatDoesNotKnowTheDeviceFallsBackToPtx() {
        nvrtc.unknownTargets.add("sm_120");
        try (KernelCache kernels = cache("compute_120", 0, true, true)) {
            kernels.function("layout", "permute", DType.F16);
        }
        assertEquals(List.of("// ptx of layout.cu [--gpu-architecture=compute_120, -DACT_DTYPE=1, --std=c++17]"), driver.images);
    }

    @Test
    void aCubinTheDriverRefusesIsReplacedByThePtx() {
        driver.refusesCubins = true;
        nvrtc.ptxMillis = 100;
        try (KernelCache kernels = cache("compute_90", 2, true, true)) {
            kernels.prefetch(DType.F16);
            kernels.function("attention_sm90", "k", DType.F16);
            kernels.function("layout", "permute", DType.F16);
            // the PTX compiled in the fallback is compilation time, not loading time (counted once)
            assertTrue(kernels.compileNanos.sum() >= 2 * 100_000_000L, "compile " + kernels.compileNanos.sum());
            assertTrue(kernels.loadNanos.sum() < kernels.compileNanos.sum() / 4,
                    "load " + kernels.loadNanos.sum() + " ns against compile " + kernels.compileNanos.sum() + " ns");
        }
        assertTrue(driver.images.contains("// ptx of attention_sm90.cu [--gpu-architecture=compute_90a, -DACT_DTYPE=1, --std=c++17]"), driver.images.toString());
        assertTrue(driver.images.contains("// ptx of layout.cu [--gpu-architecture=compute_90, -DACT_DTYPE=1, --std=c++17]"), driver.images.toString());
        assertTrue(driver.images.stream().noneMatch(i -> i.startsWith("cubin of ")), driver.images.toString());
    }
}
