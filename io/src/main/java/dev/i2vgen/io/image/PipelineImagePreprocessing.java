package dev.i2vgen.io.image;

import dev.i2vgen.tensor.Tensor;

/**
 * The two image inputs that diffusers' {@code I2VGenXLPipeline} derives from the conditioning image,
 * composed from the Pillow-exact steps in this package.
 */
public final class PipelineImagePreprocessing {
    private PipelineImagePreprocessing() {}

    /**
     * CLIP image: square {@code center_crop_wide(image, (width, width))} (side = the pipeline's output
     * width), then Pillow BILINEAR to the feature extractor's {@code crop_size} (224×224 for the released model).
     */
    public static RgbImage clipImage(RgbImage image, int pipelineWidth, int cropWidth, int cropHeight) {
        RgbImage square = CenterCropWide.apply(image, pipelineWidth, pipelineWidth);
        return PillowResample.resize(square, cropWidth, cropHeight, ResampleFilter.BILINEAR);
    }

    /** {@link #clipImage} as {@code [1,3,H,W]} in [0,1]; CLIP's mean/std normalisation is left to the vision model. */
    public static Tensor clipPixels(RgbImage image, int pipelineWidth, int cropWidth, int cropHeight) {
        return ImageTensors.toUnitRange(clipImage(image, pipelineWidth, cropWidth, cropHeight));
    }

    /** VAE input: {@code center_crop_wide(image, (width, height))} as {@code [1,3,height,width]} in [−1,1]. */
    public static Tensor vaePixels(RgbImage image, int width, int height) {
        return ImageTensors.toSignedUnitRange(CenterCropWide.apply(image, width, height));
    }
}
