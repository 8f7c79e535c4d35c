package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

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

    /** Reads the typed fields from a parsed config; {@code file} only names the source in errors. */
    public static FeatureExtractorConfig from(JsonNode json, Path file) {
        if (json == null || !json.isObject()) throw new CheckpointException(file, "is not a JSON object");
        int[] crop = size(json.get("crop_size"), "height", "width", file, "crop_size");
        JsonNode size = json.get("size");
        int shortest;
        if (size == null || size.isNull()) shortest = Math.min(crop[0], crop[1]);
        else if (size.isInt()) shortest = size.asInt();
        else if (size.isObject() && size.path("shortest_edge").isInt()) shortest = size.get("shortest_edge").asInt();
        else throw new CheckpointException(file, "\"size\" must be an int or {\"shortest_edge\": int}, found " + size);
        if (shortest <= 0) throw new CheckpointException(file, "\"size\" shortest edge must be positive, found " + shortest);
        float[] mean = rgb(json.get("image_mean"), file, "image_mean");
        float[] std = rgb(json.get("image_std"), file, "image_std");
        for (float s : std) if (!(s > 0)) throw new CheckpointException(file, "\"image_std\" values must be positive, found " + Arrays.toString(std));
        JsonNode rf = json.get("rescale_factor");
        double rescale = rf == null || rf.isNull() ? 1.0 / 255 : requireNumber(rf, file, "rescale_factor");
        JsonNode rs = json.get("resample");
        int resample = rs == null || rs.isNull() ? 3 : (int) requireNumber(rs, file, "resample");
        return new FeatureExtractorConfig(crop[0], crop[1], shortest, mean, std, rescale, resample);
    }

    private static int[] size(JsonNode n, String h, String w, Path file, String field) {
        if (n != null && n.isInt() && n.asInt() > 0) return new int[]{n.asInt(), n.asInt()};
        if (n != null && n.isObject() && n.path(h).isInt() && n.path(w).isInt() && n.get(h).asInt() > 0 && n.get(w).asInt() > 0) {
            return new int[]{n.get(h).asInt(), n.get(w).asInt()};
        }
        throw new CheckpointException(file, "\"" + field + "\" must be {\"" + h + "\": int > 0, \"" + w + "\": int > 0}, found " + n);
    }

    private static float[] rgb(JsonNode n, Path file, String field) {
        if (n == null || !n.isArray() || n.size() != 3) {
            throw new CheckpointException(file, "\"" + field + "\" must be an array of 3 numbers (R, G, B), found " + n);
        }
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) out[i] = (float) requireNumber(n.get(i), file, field);
        return out;
    }

    private static double requireNumber(JsonNode n, Path file, String field) {
        if (!n.isNumber()) throw new CheckpointException(file, "\"" + field + "\" must be numeric, found " + n);
        return n.asDouble();
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
