package dev.i2vgen.backend.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Compile-checks every kernel family for every activation dtype with nvcc (no GPU needed); skips without nvcc. */
class CudaKernelSourcesCompileTest {

    private static Path nvcc() {
        for (String p : new String[]{System.getenv("CUDA_HOME") == null ? null : System.getenv("CUDA_HOME") + "/bin/nvcc",
                "/usr/local/bin/nvcc", "/usr/local/cuda/bin/nvcc"}) {
            if (p != null && Files.isExecutable(Path.of(p))) return Path.of(p);
        }
        return null;
    }

    @Test
    void everyKernelFamilyCompilesToPtxForEveryActivationType() throws IOException, InterruptedException {
        Path nvcc = nvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not found (CUDA_HOME, /usr/local/bin, /usr/local/cuda/bin): kernel sources not compile-checked");
        Path dir = Files.createTempDirectory("i2vgen-cu");
        java.util.Map<String, java.util.Set<String>> flashEntries = new java.util.HashMap<>();
        java.util.List<java.util.Set<String>> entriesByAct = java.util.List.of(new java.util.HashSet<>(), new java.util.HashSet<>(), new java.util.HashSet<>());
        for (String family : java.util.stream.Stream.concat(KernelSources.FAMILIES.stream(), KernelSources.ON_DEMAND_FAMILIES.stream()).toList()) {
            Path src = dir.resolve(family + ".cu");
            Files.writeString(src, KernelSources.translationUnit(family), StandardCharsets.UTF_8);
            for (int act = 0; act < 3; act++) {
                Path ptx = dir.resolve(family + "-" + act + ".ptx");
                Process p = new ProcessBuilder(nvcc.toString(), "--ptx", "-arch=compute_90", "-DACT_DTYPE=" + act,
                        "-Werror", "all-warnings", "-o", ptx.toString(), src.toString()).redirectErrorStream(true).start();
                String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(300, TimeUnit.SECONDS), "nvcc timed out on " + family);
                assertEquals(0, p.exitValue(), family + ".cu (ACT_DTYPE=" + act + ") does not compile:\n" + log);
                String text = Files.readString(ptx);
                // the conv family is tensor-core only: fp32 keeps the exact im2col + GEMM path; the flash variants too
                if (!((family.equals("conv") || family.equals("attention_variants")) && act == 0))
                    assertTrue(text.contains(".entry"), family + ": PTX has no kernel entry");
                if (act == 1 && family.startsWith("attention")) flashEntries.put(family, entries(text, "flash_"));
                entriesByAct.get(act).addAll(entries(text, ""));
            }
        }
        // the flash kernels split over two modules (the default ones first): each kernel in the module the lowering asks
        for (var e : flashEntries.entrySet()) {
            assertFalse(e.getValue().isEmpty(), e.getKey() + " has no flash kernel");
            for (String kernel : e.getValue())
                assertEquals(e.getKey(), AttentionLowering.flashFamily(kernel), kernel + " is built in " + e.getKey() + ".cu but looked up elsewhere");
        }
        assertEquals(java.util.Set.of("attention", "attention_variants"), flashEntries.keySet());
        // every kernel the lowerings may pick by name, in every activation dtype: the vector widths VectorAccess allows
        // (up to 16 bytes), softmax_v{V}_n{NV} for each row length it would take, temporal_taps_sum_v{V}, attention_small
        for (int act = 0; act < 3; act++) {
            java.util.Set<String> have = entriesByAct.get(act);
            int maxV = act == 0 ? 4 : 8;
            for (int v = 1; v <= maxV; v *= 2) {
                assertTrue(have.contains("temporal_taps_sum_v" + v), "temporal_taps_sum_v" + v + " missing for ACT_DTYPE=" + act);
                if (v == 1) continue;
                for (long vectors = 1; vectors <= 4096; vectors++) {
                    int nv = NormalizationLowering.softmaxVectorsPerThread(vectors, v);
                    if (nv > 0) assertTrue(have.contains("softmax_v" + v + "_n" + nv), "softmax_v" + v + "_n" + nv + " missing for ACT_DTYPE=" + act);
                }
            }
            assertTrue(have.contains("attention_small"), "attention_small missing for ACT_DTYPE=" + act);
        }
    }

    /** The names of the PTX's kernel entries starting with {@code prefix}. */
    private static java.util.Set<String> entries(String ptx, String prefix) {
        java.util.Set<String> names = new java.util.TreeSet<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\.entry (\\w+)\\(").matcher(ptx);
        while (m.find()) if (m.group(1).startsWith(prefix)) names.add(m.group(1));
        return names;
    }

    /**
     * The Hopper-only families (wgmma; attention_sm90_ws and geglu_sm90 also TMA and setmaxnreg) for fp16 and bf16, through ptxas for sm_90a
     * as NVRTC + the driver will build them: the PTX holds wgmma instructions and every kernel the Java side launches,
     * no kernel spills or keeps a stack frame (its register arrays must stay in registers; an array on the stack costs
     * local-memory traffic in the inner loop), and ptxas neither serializes wgmma (C7510, C7520) nor injects a
     * warpgroup.arrive of its own (C7519: an accumulator touched where the source does not fence). ptxas allocates each
     * warpgroup role within its setmaxnreg count, so a role that needs more shows here as spills or serialised wgmma.
     */
    @Test
    void hopperFamiliesCompileForSm90aWithoutSpills() throws IOException, InterruptedException {
        Path nvcc = nvcc();
        Assumptions.assumeTrue(nvcc != null, "nvcc not found (CUDA_HOME, /usr/local/bin, /usr/local/cuda/bin): kernel sources not compile-checked");
        Path dir = Files.createTempDirectory("i2vgen-cu90a");
        for (String family : KernelSources.SM90A_FAMILIES) {
            Path src = dir.resolve(family + ".cu");
            Files.writeString(src, KernelSources.translationUnit(family), StandardCharsets.UTF_8);
            for (int act = 1; act < 3; act++) {
                Path ptx = dir.resolve(family + "-" + act + ".ptx");
                String log = run(nvcc.toString(), "--ptx", "-arch=compute_90a", "-DACT_DTYPE=" + act, "--std=c++17", "-Werror", "all-warnings",
                        "-o", ptx.toString(), src.toString());
                String text = Files.readString(ptx);
                assertTrue(text.contains("wgmma.mma_async"), family + ": PTX has no wgmma\n" + log);
                for (String kernel : launchedKernels(family))
                    assertTrue(text.contains(".entry " + kernel + "("), family + ".cu does not build " + kernel + ", which the Java side launches");
                if (family.equals("attention_sm90_ws")) {
                    for (String op : new String[]{"cp.async.bulk.tensor.4d", "setmaxnreg.dec", "setmaxnreg.inc", "mbarrier.arrive.expect_tx"})
                        assertTrue(text.contains(op), family + ": PTX has no " + op);
                }
                String report = run(nvcc.toString(), "-gencode=arch=compute_90a,code=sm_90a", "-cubin", "-Xptxas", "-v", "-DACT_DTYPE=" + act,
                        "--std=c++17", "-o", dir.resolve(family + "-" + act + ".cubin").toString(), src.toString());
                long kernels = report.lines().filter(l -> l.contains("Function properties for")).count();
                long clean = report.lines().filter(l -> l.contains("0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads")).count();
                assertTrue(kernels > 0 && clean == kernels, family + " (ACT_DTYPE=" + act + ") spills or uses a stack frame:\n" + report);
                assertTrue(!report.contains("C7510") && !report.contains("C7520") && !report.contains("serialized"),
                        family + ": wgmma serialized by ptxas:\n" + report);
                assertTrue(!report.contains("C7519") && !report.contains("is injected"), family + ": ptxas injected a warpgroup.arrive:\n" + report);
                assertTrue(!report.contains("setmaxnreg"), family + ": ptxas ignored or questioned setmaxnreg:\n" + report);
            }
        }
    }

    /** The kernels of a Hopper family that the lowerings launch by name. */
    private static java.util.Set<String> launchedKernels(String family) {
        return switch (family) {
            case "attention_sm90", "attention_sm90_ws" -> Sm90FlashAttention.VARIANTS.stream()
                    .flatMap(v -> java.util.stream.Stream.of(Sm90FlashAttention.kernel(v, 14080, 14080), Sm90FlashAttention.kernel(v, 880, 880)))
                    .filter(k -> Sm90FlashAttention.family(k).equals(family))
                    .collect(java.util.stream.Collectors.toSet());
            case "geglu_sm90" -> java.util.Set.of(Sm90GegluGemm.KERNEL);
            default -> throw new IllegalStateException("no launched kernels listed for Hopper family " + family);
        };
    }

    /** Runs a command, asserts it exits 0 within 300 s, returns its output. */
    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "timed out: " + String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + log);
        return log;
    }
}
