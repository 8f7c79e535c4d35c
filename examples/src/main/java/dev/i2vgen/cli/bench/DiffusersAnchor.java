package dev.i2vgen.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * diffusers' own figures for a released model in fp16 (diffusers 0.40, torch 2.11, SDPA flash attention), shipped in
 * the jar's {@code bench/}: I2VGen-XL on an NVIDIA H100 80GB HBM3 ({@link #load()}), SVD-XT on an H200
 * ({@link #load(String)} of {@code anchor-diffusers-svd-h200.json}); the yardstick of every row.
 */
public final class DiffusersAnchor {
    private final JsonNode figures;
    private final String file;

    private DiffusersAnchor(JsonNode figures, String file) {
        this.figures = figures;
        this.file = file;
    }

    /** I2VGen-XL's figures on an H100. */
    public static DiffusersAnchor load() { return load("anchor-diffusers-h100.json"); }

    /** The figures in {@code bench/NAME}. */
    public static DiffusersAnchor load(String name) {
        try (InputStream in = BenchResources.open(name)) {
            JsonNode node = new ObjectMapper().readTree(in);
            if (node == null || !node.isObject()) throw new IllegalStateException("bench/" + name + " is not a JSON object");
            return new DiffusersAnchor(node, "bench/" + name);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read bench/" + name, e);
        }
    }

    /** The number under {@code key} (e.g. "unet_step_cfg_s"), or null if the anchor has none. */
    public Double figure(String key) {
        JsonNode v = figures.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw new IllegalStateException(file + ": \"" + key + "\" must be a number, found " + v);
        return v.asDouble();
    }

    public String gpu() { return figures.path("gpu").asText("unknown GPU"); }

    public JsonNode asJson() { return figures.deepCopy(); }
}
