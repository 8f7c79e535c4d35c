package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.checkpoint.FeatureExtractorConfig;
import dev.i2vgen.io.image.PipelineImagePreprocessing;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.tensor.Tensor;

/**
 * The pipeline's CLIP image input: a square center-crop-wide of side {@code width}, Pillow BILINEAR
 * to the feature extractor's crop size, then only the mean/std normalisation (the pipeline turns the
 * processor's own resize, crop and rescale off).
 */
public final class ClipImagePreprocessor {
    private final FeatureExtractorConfig config;

    public ClipImagePreprocessor(FeatureExtractorConfig config) { this.config = config; }

    /** pixel_values [1, 3, cropH, cropW]: (x/255 − mean) / std per channel. */
    public Tensor pixelValues(RgbImage image, int width) {
        return normalize(PipelineImagePreprocessing.clipPixels(image, width, config.cropWidth(), config.cropHeight()));
    }

    /** (x − mean) / std per channel of an image [1, 3, H, W] in [0, 1]: the feature extractor's do_normalize alone. */
    public Tensor normalize(Tensor unit) {
        int h = unit.dim(2), w = unit.dim(3);
        float[] v = unit.toFloatArray();
        float[] mean = config.imageMean(), std = config.imageStd();
        for (int c = 0; c < 3; c++) {
            for (int i = c * h * w, end = (c + 1) * h * w; i < end; i++) v[i] = (v[i] - mean[c]) / std[c];
        }
        return Tensor.fromFloats(v, 1, 3, h, w);
    }
}
