package dev.i2vgen.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * How {@link CudnnConvolution#imagesPerCall} splits a batch so that cuDNN's NHWC copies of x and y fit the workspace
 * bound (no GPU needed): the model's shapes in fp16 under the 1 GiB bound, and the edge cases.
 */
class CudnnConvolutionGroupsTest {
    private static final long GIB = 1L << 30;

    private static CudnnConvolution.Geometry conv3x3(int n, int c, int o, int h, int w) {
        return new CudnnConvolution.Geometry(n, c, h, w, o, 3, 3, 1, 1, 1, 1, h, w);
    }

    @Test
    void modelShapesUnderTheDefaultBound() {
        // UNet, 32 frames of 320 ch at 88x160: x + y = 576 MB, one call
        assertEquals(32, CudnnConvolution.imagesPerCall(conv3x3(32, 320, 320, 88, 160), 2, GIB));
        assertEquals(32, CudnnConvolution.imagesPerCall(conv3x3(32, 1280, 1280, 22, 40), 2, GIB));
        // temporal (3,1) conv over [2, 320, 16, 14080]: 288 MB per image, both in one call
        assertEquals(2, CudnnConvolution.imagesPerCall(
                new CudnnConvolution.Geometry(2, 320, 16, 14080, 320, 3, 1, 1, 1, 1, 0, 16, 14080), 2, GIB));
        // VAE upsampler conv 256 -> 256 at 704x1280: 922 MB for one image, fits alone
        assertEquals(1, CudnnConvolution.imagesPerCall(conv3x3(1, 256, 256, 704, 1280), 2, GIB));
        assertEquals(1, CudnnConvolution.imagesPerCall(conv3x3(16, 256, 256, 704, 1280), 2, GIB));
        // VAE decode chunk 8 at the 128-channel level: 461 MB per image, 2 images per call, 4 calls
        assertEquals(2, CudnnConvolution.imagesPerCall(conv3x3(8, 128, 128, 704, 1280), 2, GIB));
    }

    @Test
    void edgeCases() {
        // one image alone exceeds the bound: no cuDNN
        assertEquals(0, CudnnConvolution.imagesPerCall(conv3x3(1, 512, 512, 704, 1280), 2, GIB));
        // a prime batch larger than the limit: one image per call
        assertEquals(1, CudnnConvolution.imagesPerCall(conv3x3(7, 128, 128, 704, 1280), 2, GIB));
        // groups of 9-element images would start at 36- and 18-byte offsets (not 16-byte aligned): declined
        var tiny = new CudnnConvolution.Geometry(4, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 3, 3);
        long room2 = (16L << 20) + 2 * 9 * 2 + 2 * 36;   // margin + filter copies + two images of x + y
        assertEquals(0, CudnnConvolution.imagesPerCall(tiny, 2, room2));
        // the whole batch in one call needs no group offsets
        assertEquals(4, CudnnConvolution.imagesPerCall(tiny, 2, GIB));
    }
}
