package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.HostMemory;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The size bounds: the first parameter that cannot fit is named with its largest value that does. */
class GenerationSizesTest {
    private static final long HEAP = 1L << 40;
    /** The released I2VGen-XL layout (VAE scale 8, 4 latent channels) with CFG, for a 1280×704 input image. */
    private static final GenerationSizes.Layout I2VGEN = I2VGenXLPipeline.hostArrays(
            GenerationRequest.defaults("a cat", RgbImage.black(1280, 704)), 4, 4, 8);

    @Test
    void theReleasedDefaultsFit() {
        assertDoesNotThrow(() -> GenerationSizes.check(I2VGEN, 704, 1280, 16, HEAP));
        assertDoesNotThrow(() -> GenerationSizes.check(StableVideoDiffusionPipeline.hostArrays(true, 4, 8), 576, 1024, 25, HEAP));
    }

    @Test
    void framesAreBoundedByTheDecodedVideoAsOneJavaArray() {
        RequestLimitException e = assertThrows(RequestLimitException.class, () -> GenerationSizes.check(I2VGEN, 704, 1280, 2_000_000_000, HEAP));
        assertEquals("num_frames", e.parameter());
        assertEquals(Map.of("height", 704L, "width", 1280L), e.heldAt());
        long perFrame = 3L * 704 * 1280;
        assertEquals(HostMemory.MAX_ARRAY_LENGTH / perFrame, e.max(), "the largest count whose [F, 3, H, W] floats fit one array");
        assertTrue(e.reason().startsWith("the decoded video F32[2000000000, 3, 704, 1280] would have"), e.reason());
        assertDoesNotThrow(() -> GenerationSizes.check(I2VGEN, 704, 1280, (int) e.max(), HEAP));
        assertThrows(RequestLimitException.class, () -> GenerationSizes.check(I2VGEN, 704, 1280, (int) e.max() + 1, HEAP));
    }

    @Test
    void widthIsBoundedByTheClipSquareAtTheRequestedHeight() {
        RequestLimitException e = assertThrows(RequestLimitException.class, () -> GenerationSizes.check(I2VGEN, 704, 2147483640, 16, HEAP));
        assertEquals("width", e.parameter());
        assertEquals(0, e.max() % 8, "a multiple of 8");
        assertTrue(e.getMessage().startsWith("width must be at most " + e.max() + " at height 704, got 2147483640: the input image scaled for CLIP"),
                e.getMessage());
        assertDoesNotThrow(() -> GenerationSizes.check(I2VGEN, 704, (int) e.max(), 1, HEAP));
        assertThrows(RequestLimitException.class, () -> GenerationSizes.check(I2VGEN, 704, (int) e.max() + 8, 1, HEAP));
    }

    @Test
    void heightComesFirstAndIsBoundedAtTheSmallestWidth() {
        RequestLimitException e = assertThrows(RequestLimitException.class, () -> GenerationSizes.check(I2VGEN, 1 << 30, 1 << 16, 4, HEAP));
        assertEquals("height", e.parameter());
        assertEquals(Map.of(), e.heldAt());
    }

    @Test
    void theVideoAndFramesTheResultKeepsMustFitTheHeap() {
        long heap = 1L << 30;   // 1 GiB: 15 bytes per pixel and frame → about 71 M pixel-frames
        RequestLimitException e = assertThrows(RequestLimitException.class, () -> GenerationSizes.check(I2VGEN, 704, 1280, 200, heap));
        assertEquals("num_frames", e.parameter());
        assertEquals(heap / (15L * 704 * 1280), e.max());
        assertTrue(e.reason().contains("the decoded video and its 8-bit frames would need") && e.reason().contains("of Java heap, more than its maximum (1.0 GiB)"),
                e.reason());
    }

    @Test
    void messagesRenderWithOtherParameterNames() {
        RequestLimitException e = assertThrows(RequestLimitException.class, () -> GenerationSizes.check(I2VGEN, 32, 48, 2_000_000_000, HEAP));
        Map<String, String> options = Map.of("height", "--height", "width", "--width", "num_frames", "--frames");
        assertTrue(e.message(options::get).startsWith("--frames must be at most " + e.max() + " at --height 32 and --width 48, got 2000000000: "),
                e.message(options::get));
    }

    @Test
    void arrayCountsThatOverflowALongAreReportedAsSuch() {
        GenerationSizes.Layout huge = (h, w, f) -> List.of(new GenerationSizes.HostArray("x", "U8", new long[]{h - 8, 1L << 40, 1L << 40}, 1, 1, false));
        RequestLimitException e = assertThrows(RequestLimitException.class, () -> GenerationSizes.check(huge, 16, 8, 1, HEAP));
        assertEquals(8, e.max());
        assertTrue(e.reason().equals("x U8[8, 1099511627776, 1099511627776] would have about 9.67e+24 elements, more than a Java array holds (2147483639)"),
                e.reason());
    }
}
