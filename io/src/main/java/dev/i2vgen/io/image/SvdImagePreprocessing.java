package dev.i2vgen.io.image;

import dev.i2vgen.tensor.Tensor;

/**
 * The two image inputs that diffusers' {@code StableVideoDiffusionPipeline} derives from the conditioning
 * image. Unlike I2VGen-XL ({@link PipelineImagePreprocessing}) neither path crops: the CLIP path resizes
 * the whole image with torch's antialiased bicubic, the VAE path with Pillow's Lanczos, both ignoring
 * the aspect ratio.
 */
public final class SvdImagePreprocessing {
    private SvdImagePreprocessing() {}

    /**
     * The CLIP image before mean/std normalisation, {@code [1,3,size,size]} in [0,1]: {@code x = 2·(v/255) − 1},
     * {@link AntialiasedResize} to {@code size × size}, then {@code (x + 1)/2} (diffusers resizes in [−1,1]
     * to follow the original implementation). diffusers hard-codes {@code size = 224}.
     */
    public static Tensor clipPixels(RgbImage image, int size) {
        if (size <= 0) throw new IllegalArgumentException("size must be positive, got " + size);
        float[] v = ImageTensors.toSignedUnitRange(image).toFloatArray();
        float[] r = AntialiasedResize.apply(v, 3, image.height(), image.width(), size, size);
        for (int i = 0; i < r.length; i++) r[i] = (r[i] + 1.0f) / 2.0f;
        return Tensor.fromFloats(r, 1, 3, size, size);
    }

    /** The Lanczos-resized image ({@code video_processor.preprocess}'s PIL step) before conversion to floats. */
    public static RgbImage vaeImage(RgbImage image, int width, int height) {
        return PillowResample.resize(image, width, height, ResampleFilter.LANCZOS);
    }

    /**
     * VAE input before noise augmentation, {@code [1,3,height,width]} in [−1,1]: Pillow LANCZOS to
     * {@code width × height}, then {@code 2·(v/255) − 1}.
     */
    public static Tensor vaePixels(RgbImage image, int width, int height) {
        return ImageTensors.toSignedUnitRange(vaeImage(image, width, height));
    }
}
