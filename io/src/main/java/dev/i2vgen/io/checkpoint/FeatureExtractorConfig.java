package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The fields of {@code feature_extractor/preprocessor_config.json} (a transformers
 * {@code CLIPImageProcessor}) that image preprocessing needs.
 *
 * @param cropHeight     {@code crop_size.height} (older configs give one int for both sides)
 * @param cropWidth      {@code crop_size.width}
 * @param shortestEdge   {@code size.shortest_edge}: resize target of the shorter side (older configs: an int)
 * @param imageMean      {@code image_mean}, one value per RGB channel
 * @param imageStd       {@code image_std}, one value per RGB channel
 * @param rescaleFactor  {@code rescale_factor}, 1/255 unless stated
 * @param resample       {@code resample}, a PIL filter id (3 = bicubic)
 */
public record FeatureExtractorConfig(int cropHeight, int cropWidth, int shortestEdge, float[] imageMean, float[] imageStd,
                                     double rescaleFactor, int resample) {
    public FeatureExtractorConfig {
        imageMean = imageMean.clone();
        imageStd = imageStd.clone();
    }

    @Override
    public float[] imageMean() { return imageMean.clone(); }

    @Override
    public float[] imageStd() { return imageStd.clone(); }

    /** PIL's filter ids: NEAREST 0, LANCZOS 1, BILINEAR 2, BICUBIC 3, BOX 4, HAMMING 5. */
    private static final int LAST_PIL_FILTER = 5;

    /**
     * Reads the typed fields from a parsed config; {@code file} only names the source in errors, each a
     * {@link ConfigProblem} "FILE: 'key' must be ..., got ...".
     */
    public static FeatureExtractorConfig from(JsonNode json, Path file) {
        JsonConfig c = new JsonConfig(json, file.toString());
        int[] crop = cropSize(c);
        int shortest;
        if (!c.has("size")) shortest = Math.min(crop[0], crop[1]);
        else if (c.node().get("size").isObject()) shortest = positive(c.object("size"), "shortest_edge");
        else shortest = c.getPositiveInt("size", 0);
        float[] mean = rgb(c, "image_mean");
        float[] std = rgb(c, "image_std");
        for (float s : std) c.require(s > 0, "image_std", "must hold positive numbers (they divide), got " + Arrays.toString(std));
        double rescale = c.getPositiveDouble("rescale_factor", 1.0 / 255);
        int resample = c.getInt("resample", 3);
        c.require(resample >= 0 && resample <= LAST_PIL_FILTER, "resample", "must be a PIL filter id 0.." + LAST_PIL_FILTER + ", got " + resample);
        return new FeatureExtractorConfig(crop[0], crop[1], shortest, mean, std, rescale, resample);
    }

    /** {@code {"height": h, "width": w}}, or one int for both sides in older configs. */
    private static int[] cropSize(JsonConfig c) {
        c.requireKey("crop_size");
        if (!c.node().get("crop_size").isObject()) {
            int side = c.getPositiveInt("crop_size", 0);
            return new int[]{side, side};
        }
        JsonConfig crop = c.object("crop_size");
        return new int[]{positive(crop, "height"), positive(crop, "width")};
    }

    private static int positive(JsonConfig c, String key) {
        c.requireKey(key);
        return c.getPositiveInt(key, 0);
    }

    /** One value per RGB channel, required. */
    private static float[] rgb(JsonConfig c, String key) {
        c.requireKey(key);
        double[] v = c.getDoubleArray(key, new double[0]);
        c.require(v.length == 3, key, "must hold 3 numbers (R, G, B), got " + v.length);
        return new float[]{(float) v[0], (float) v[1], (float) v[2]};
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FeatureExtractorConfig c && cropHeight == c.cropHeight && cropWidth == c.cropWidth
                && shortestEdge == c.shortestEdge && Arrays.equals(imageMean, c.imageMean) && Arrays.equals(imageStd, c.imageStd)
                && rescaleFactor == c.rescaleFactor && resample == c.resample;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * cropHeight + cropWidth) + Arrays.hashCode(imageMean) + 7 * Arrays.hashCode(imageStd);
    }

    @Override
    public String toString() {
        return "FeatureExtractorConfig[crop " + cropHeight + "x" + cropWidth + ", shortest edge " + shortestEdge
                + ", mean " + Arrays.toString(imageMean) + ", std " + Arrays.toString(imageStd) + "]";
    }
}
