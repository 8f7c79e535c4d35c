package dev.i2vgen.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Off the GPU: every flashVariant v5* names a kernel that attention_sm90.cu builds, and v5 picks by shape. */
class Sm90FlashAttentionTest {

    @Test
    void everyVariantNamesABuiltKernel() {
        String source = KernelSources.resource("attention_sm90.cu");
        for (String variant : Sm90FlashAttention.VARIANTS) {
            String kernel = Sm90FlashAttention.kernel(variant, 14080, 14080);
            assertTrue(source.contains("H9_KERNEL(" + kernel + ","), variant + " -> " + kernel + " is not built by attention_sm90.cu");
        }
        assertThrows(IllegalArgumentException.class, () -> Sm90FlashAttention.kernel("v5w9k32", 100, 100));
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
    void sharedMemoryFitsTheBlockLimitAndTwoSmallBlocksFitAnSm() {
        assertTrue(Sm90FlashAttention.sharedBytes(3, 128) <= 227 * 1024);
        assertTrue(Sm90FlashAttention.sharedBytes(4, 64) <= 227 * 1024);
        assertTrue(2 * (Sm90FlashAttention.sharedBytes(2, 64) + 1024) <= 228 * 1024, "w2_k64 runs two blocks per SM");
    }
}
