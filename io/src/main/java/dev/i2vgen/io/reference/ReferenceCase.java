package dev.i2vgen.io.reference;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A diffusers reference run recorded for conformance checks: {@code case.json} (pipeline arguments),
 * the input image, the checkpoint folder and {@code tensors.safetensors} with every intermediate tensor.
 */
public final class ReferenceCase implements AutoCloseable {
    private final Path dir;
    private final JsonNode json;
    private final SafetensorsFile tensors;

    private ReferenceCase(Path dir, JsonNode json, SafetensorsFile tensors) {
        this.dir = dir;
        this.json = json;
        this.tensors = tensors;
    }

    public static ReferenceCase open(Path dir) {
        Path caseJson = dir.resolve("case.json");
        try {
            JsonNode json = new ObjectMapper().readTree(Files.readString(caseJson));
            return new ReferenceCase(dir, json, SafetensorsFile.open(dir.resolve("tensors.safetensors")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read reference case " + caseJson, e);
        }
    }

    /**
     * The project's bundled case {@code name} ("tiny", "tiny-fp16", "tiny-noguidance"): looks for
     * {@code conformance/cases/NAME} from the working directory upwards (tests run in module folders).
     */
    public static ReferenceCase bundled(String name) {
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            Path c = p.resolve("conformance").resolve("cases").resolve(name);
            if (Files.isDirectory(c)) return open(c);
            p = p.getParent();
        }
        throw new IllegalStateException("bundled reference case '" + name + "' not found above " + Path.of("").toAbsolutePath());
    }

    public Path dir() { return dir; }

    public JsonNode json() { return json; }

    /** The checkpoint folder the case was made with. */
    public Path checkpoint() { return dir.resolve(json.path("checkpoint").asText("checkpoint")).normalize(); }

    public Path inputImage() { return dir.resolve(json.path("input_image").asText("input.png")); }

    public String prompt() { return json.path("prompt").asText(); }

    /** Null when the case gave none. */
    public String negativePrompt() { return json.path("negative_prompt").isNull() ? null : json.path("negative_prompt").asText(null); }

    public int height() { return json.path("height").asInt(); }

    public int width() { return json.path("width").asInt(); }

    public int numFrames() { return json.path("num_frames").asInt(); }

    public int steps() { return json.path("steps").asInt(); }

    public double guidance() { return json.path("guidance").asDouble(); }

    public int fps() { return json.path("fps").asInt(); }

    public long seed() { return json.path("seed").asLong(); }

    /** Null means "all frames at once". */
    public Integer decodeChunkSize() { return json.path("decode_chunk_size").isNull() ? null : json.path("decode_chunk_size").asInt(); }

    public boolean has(String tensor) { return tensors.contains(tensor); }

    /** A recorded tensor (stored as F32; integer tensors too). */
    public Tensor tensor(String name) { return tensors.get(name); }

    @Override
    public void close() { tensors.close(); }
}
