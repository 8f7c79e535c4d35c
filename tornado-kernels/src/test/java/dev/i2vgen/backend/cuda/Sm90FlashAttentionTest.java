package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Off the GPU: every flashVariant v5* / v6* names a kernel that its family builds, v5 and v6 pick by shape, the shared
 * memory and register plans of the kernels fit an SM, and the v6 TMA tensor maps describe the operands' rows.
 */
class Sm90FlashAttentionTest {
    /** H6_KERNEL(name, consumer warpgroups, key tile, stages, ping-pong, producer registers, consumer registers) */
    private static final Pattern WS_KERNEL = Pattern.compile("H6_KERNEL\\((\\w+), (\\d), (\\d+), (\\d+), (true|false), (\\d+), (\\d+)\\)");

    @Test
    void everyVariantNamesABuiltKernel() {
        for (String variant : Sm90FlashAttention.VARIANTS) {
            String kernel = Sm90FlashAttention.kernel(variant, 14080, 14080);
            String family = Sm90FlashAttention.family(kernel);
            String macro = Sm90FlashAttention.warpSpecialized(kernel) ? "H6_KERNEL(" : "H9_KERNEL(";
            assertTrue(KernelSources.resource(family + ".cu").contains(macro + kernel + ","), variant + " -> " + kernel + " is not built by " + family + ".cu");
        }
        assertThrows(IllegalArgumentException.class, () -> Sm90FlashAttention.kernel("v5w9k32", 100, 100));
        assertThrows(IllegalArgumentException.class, () -> Sm90FlashAttention.kernel("v6w4k64", 100, 100));
    }

    @Test
    void v5PicksFourWarpgroupsForLongSequencesAndTwoBlocksPerSmOtherwise() {
        assertEquals("flash_sm90_d64_w4_k64_mb2", Sm90FlashAttention.kernel("v5", 14080, 14080));
        assertEquals("flash_sm90_d64_w4_k64_mb2", Sm90FlashAttention.kernel("v5", 3520, 3520));
        assertEquals("flash_sm90_d64_w2_k64_mb2", Sm90FlashAttention.kernel("v5", 880, 880));
        assertEquals("flash_sm90_d64_w2_k64_mb2", Sm90FlashAttention.kernel("v5", 14080, 77));
        assertEquals("flash_sm90_d64_w3_k128_mb", Sm90FlashAttention.kernel("v5w3k128mb", 220, 220));
    }

    @Test
    void v6PicksKeyTilesByShapeAndStaysInItsOwnFamily() {
        assertEquals("flash_sm90_d64_ws2_k128", Sm90FlashAttention.kernel("v6", 14080, 14080));
        assertEquals("flash_sm90_d64_ws2_k64", Sm90FlashAttention.kernel("v6", 880, 880));
        assertEquals("flash_sm90_d64_ws2_k128_np", Sm90FlashAttention.kernel("v6w2k128np", 220, 220));
        assertEquals("flash_sm90_d64_ws3_k64", Sm90FlashAttention.kernel("v6w3k64", 14080, 77));
        assertEquals("attention_sm90_ws", Sm90FlashAttention.family(Sm90FlashAttention.kernel("v6w3k64", 100, 100)));
        assertEquals("attention_sm90", Sm90FlashAttention.family(Sm90FlashAttention.kernel("v5", 100, 100)));
    }

    @Test
    void sharedMemoryFitsTheBlockLimitAndTwoSmallBlocksFitAnSm() {
        assertTrue(Sm90FlashAttention.sharedBytes(3, 128) <= 227 * 1024);
        assertTrue(Sm90FlashAttention.sharedBytes(4, 64) <= 227 * 1024);
        assertTrue(2 * (Sm90FlashAttention.sharedBytes(2, 64) + 1024) <= 228 * 1024, "w2_k64 runs two blocks per SM");
    }

    /**
     * Every H6_KERNEL line of attention_sm90_ws.cu: its ring depth is the one the host sizes shared memory for, the
     * block fits an SM's 227 KB, and the setmaxnreg counts are legal (multiples of 8 in 24..256) and balance the CTA's
     * register pool: the block starts at the launch-bounds count (65,536 / threads, rounded down to 8), the producer
     * gives registers back (dec: not above the start), the consumers take them (inc: not below), and the sum fits.
     */
    @Test
    void warpSpecializedKernelsFitTheirSharedMemoryAndRegisterPlans() {
        Matcher m = WS_KERNEL.matcher(KernelSources.resource("attention_sm90_ws.cu"));
        int kernels = 0;
        while (m.find()) {
            kernels++;
            String name = m.group(1);
            int consumers = Integer.parseInt(m.group(2)), keyTile = Integer.parseInt(m.group(3)), stages = Integer.parseInt(m.group(4));
            int producerRegs = Integer.parseInt(m.group(6)), consumerRegs = Integer.parseInt(m.group(7));
            assertEquals(Sm90FlashAttention.warpSpecializedStages(keyTile), stages, name + ": ring depth differs from the host's");
            assertTrue(Sm90FlashAttention.warpSpecializedSharedBytes(consumers, keyTile) <= 227 * 1024, name + ": shared memory");
            int threads = (consumers + 1) * 128, start = Math.min(255, 65536 / threads) / 8 * 8;
            for (int regs : new int[]{producerRegs, consumerRegs})
                assertTrue(regs % 8 == 0 && regs >= 24 && regs <= 256, name + ": setmaxnreg " + regs);
            assertTrue(producerRegs <= start && consumerRegs >= start, name + ": dec below and inc above the start count " + start);
            assertTrue(128 * producerRegs + 128 * consumers * consumerRegs <= 65536, name + ": register pool");
            assertTrue(kernelOfSomeVariant(name), name + " is reachable from no flashVariant");
        }
        assertTrue(kernels >= 4, "H6_KERNEL lines found: " + kernels);
    }

    private static boolean kernelOfSomeVariant(String kernel) {
        return Sm90FlashAttention.VARIANTS.stream().anyMatch(v -> Sm90FlashAttention.kernel(v, 100, 100).equals(kernel));
    }

    /** q, k and v column blocks of one fused projection (row stride 3C): the map walks one sequence's rows of one head. */
    @Test
    void tensorMapDescribesStridedRowsOfOneHead() {
        int heads = 5, c = heads * 64, ld = 3 * c, len = 14080;
        HeadRowsTensorMap k = new HeadRowsTensorMap(0x7f0000001000L + 2L * c, 32, len, heads, ld, 128, DType.BF16);
        assertArrayEquals(new long[]{64, heads, len, 32}, k.dims());
        assertArrayEquals(new long[]{128, 2L * ld, 2L * ld * len}, k.strides());
        assertArrayEquals(new int[]{64, 1, 128, 1}, k.box());
    }

    @Test
    void tensorMapRejectsWhatTmaCannotRead() {
        long base = 0x7f0000001000L;
        assertThrows(IllegalArgumentException.class, () -> new HeadRowsTensorMap(base + 8, 1, 100, 2, 128, 64, DType.F16), "16-byte alignment");
        assertThrows(IllegalArgumentException.class, () -> new HeadRowsTensorMap(base, 1, 100, 2, 124, 64, DType.F16), "ld % 8");
        assertThrows(IllegalArgumentException.class, () -> new HeadRowsTensorMap(base, 1, 100, 3, 128, 64, DType.F16), "ld < heads * 64");
        assertThrows(IllegalArgumentException.class, () -> new HeadRowsTensorMap(base, 1, 100, 2, 128, 257, DType.F16), "box rows");
        assertThrows(IllegalArgumentException.class, () -> new HeadRowsTensorMap(base, 1, 100, 2, 128, 64, DType.F32), "dtype");
    }
}
