package dev.i2vgen.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * diffusers' own figures for the released model on an NVIDIA H100 80GB HBM3 in fp16 (diffusers 0.40, torch 2.11,
 * SDPA flash attention), shipped as {@code bench/anchor-diffusers-h100.json}: the yardstick of every row.
 */
public final class DiffusersAnchor {
    private final JsonNode figures;

    private DiffusersAnchor(JsonNode figures) { this.figures = figures; }

    public static DiffusersAnchor load() {
        try (InputStream in = BenchResources.open("anchor-diffusers-h100.json")) {
            JsonNode node = new ObjectMapper().readTree(in);
            if (node == null || !node.isObject()) throw new IllegalStateException("bench/anchor-diffusers-h100.json is not a JSON object");
            return new DiffusersAnchor(node);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read bench/anchor-diffusers-h100.json", e);
        }
    }

    /** The number under {@code key} (e.g. "unet_step_cfg_s"), or null if the anchor has none. */
    public Double figure(String key) {
        JsonNode v = figures.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber()) throw new IllegalStateException("bench/anchor-diffusers-h100.json: \"" + key + "\" must be a number, found " + v);
        return v.asDouble();
    }

    public String gpu() { return figures.path("gpu").asText("unknown GPU"); }

    public JsonNode asJson() { return figures.deepCopy(); }
}
