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

    /**
     * diffusers' figures for {@code model} ("i2vgen-xl", "svd-xt") on the GPU kind of {@code deviceDescription}: the
     * H100 or H200 measurement (all made in this project's sessions with the scripts in tools/device and
     * ../shared/bench), the H100 one for I2VGen-XL and the H200 one for SVD-XT where the GPU is neither.
     */
    public static DiffusersAnchor forGpu(String model, String deviceDescription) {
        boolean h100 = deviceDescription.contains("H100"), h200 = deviceDescription.contains("H200");
        return switch (model) {
            case "i2vgen-xl" -> load(h200 ? "anchor-diffusers-i2vgen-h200.json" : "anchor-diffusers-h100.json");
            case "svd-xt" -> load(h100 ? "anchor-diffusers-svd-h100.json" : "anchor-diffusers-svd-h200.json");
            default -> throw new IllegalArgumentException("no diffusers figures for model '" + model + "' (i2vgen-xl, svd-xt)");
        };
    }

    /** The GPU kind of these figures ("H100", "H200", or the GPU's name). */
    public String gpuKind() {
        String gpu = gpu();
        return gpu.contains("H100") ? "H100" : gpu.contains("H200") ? "H200" : gpu;
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
