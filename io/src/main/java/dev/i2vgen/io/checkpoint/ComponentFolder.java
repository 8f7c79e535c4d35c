package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.MessageText;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.io.safetensors.SafetensorsFormatException;
import dev.i2vgen.io.safetensors.SafetensorsSource;
import dev.i2vgen.io.safetensors.ShardedSafetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One component folder of a diffusers pipeline checkpoint ({@code unet/}, {@code tokenizer/}, ...),
 * as listed in {@code model_index.json}: {@code "unet": ["diffusers", "I2VGenXLUNet"]}.
 */
public final class ComponentFolder {
    /** Strict: trailing garbage after the JSON value and duplicate keys are errors, not silently ignored. */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final String name;
    private final String library;
    private final String className;
    private final ComponentKind kind;
    private final Path dir;

    ComponentFolder(String name, String library, String className, Path dir) {
        this.name = name;
        this.library = library;
        this.className = className;
        this.kind = ComponentKind.of(name, className);
        this.dir = dir;
    }

    /** The key in model_index.json, which is also the folder name. */
    public String name() { return name; }

    /** "diffusers" or "transformers". */
    public String library() { return library; }

    /** The class that loads the component in Python, e.g. "I2VGenXLUNet", "CLIPTextModel". */
    public String className() { return className; }

    public ComponentKind kind() { return kind; }

    public Path dir() { return dir; }

    /** {@code config.json}, or {@code scheduler_config.json}, {@code tokenizer_config.json}, {@code preprocessor_config.json}. */
    public Path configFile() { return dir.resolve(kind.configFileName()); }

    /** The parsed config file; throws naming the file when it is missing or not a JSON object. */
    public JsonNode config() { return readJsonObject(requireFile(kind.configFileName())); }

    /** A file of this folder that must exist (e.g. {@code vocab.json}); throws naming the path otherwise. */
    public Path requireFile(String fileName) {
        if (!Files.isDirectory(dir)) throw new CheckpointException(dir, "folder of component '" + name + "' (" + className + ") is missing");
        Path p = dir.resolve(fileName);
        if (!Files.isRegularFile(p)) {
            String there = FolderEntry.notAFile(p);
            throw new CheckpointException(p, (there == null ? "missing file" : "is " + there) + " (component '" + name + "' needs it)");
        }
        return p;
    }

    /** The weights file chosen for {@code variant} (see {@link WeightFiles} for the rules and fallbacks). */
    public Path weightsFile(Variant variant) {
        if (!kind.hasWeights()) throw new CheckpointException(dir, "component '" + name + "' (" + className + ") has no weights");
        if (!Files.isDirectory(dir)) throw new CheckpointException(dir, "folder of component '" + name + "' (" + className + ") is missing");
        return WeightFiles.resolve(dir, library, variant);
    }

    /** The weights (one file or sharded) for {@code variant}; close the source when done with its tensors. */
    public SafetensorsSource weights(Variant variant) { return SafetensorsSource.open(weightsFile(variant)); }

    /** The weights without a variant request (plain files, or the only variant present). */
    public SafetensorsSource weights() { return weights(Variant.NONE); }

    /** Every problem of this folder: config, weights headers, tokenizer files; empty when usable. */
    List<CheckpointProblem> problems() {
        List<CheckpointProblem> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            out.add(new CheckpointProblem(dir, "folder of component '" + name + "' (" + library + " " + className
                    + ") is missing; expected " + kind.configFileName() + (kind.hasWeights() ? " and safetensors weights" : "") + " in it"));
            return out;
        }
        JsonNode config = check(out, () -> config());
        if (config != null && config.has("_class_name") && className != null && !config.get("_class_name").asText().equals(className)) {
            out.add(new CheckpointProblem(configFile(), "_class_name is " + config.get("_class_name")
                    + " but model_index.json says " + className));
        }
        switch (kind) {
            case MODEL -> weightProblems(out);
            case TOKENIZER -> tokenizerProblems(out);
            case FEATURE_EXTRACTOR -> { if (config != null) check(out, () -> FeatureExtractorConfig.from(config, configFile())); }
            case SCHEDULER -> { }
        }
        return out;
    }

    private void weightProblems(List<CheckpointProblem> out) {
        List<Path> files = WeightFiles.allWeightFiles(dir);
        if (files.isEmpty()) {
            out.add(new CheckpointProblem(dir, "no safetensors weights; expected one of "
                    + WeightFiles.candidates(WeightFiles.baseNames(library), Variant.NONE) + " or a variant such as "
                    + WeightFiles.candidates(WeightFiles.baseNames(library), Variant.FP16) + "; " + WeightFiles.describeContents(dir)));
            return;
        }
        for (Path f : files) {
            try (SafetensorsSource s = WeightFiles.isIndex(f) ? ShardedSafetensors.open(f) : SafetensorsFile.open(f)) {
                if (s.names().isEmpty()) out.add(new CheckpointProblem(f, "holds no tensors"));
            } catch (SafetensorsFormatException e) {
                // The message already names the file (and the tensor); keep the file as reported by the reader.
                out.add(new CheckpointProblem(e.file(), (e.tensor() == null ? "" : "tensor '" + e.tensor() + "': ") + e.problem()));
            }
        }
    }

    private void tokenizerProblems(List<CheckpointProblem> out) {
        boolean fast = Files.isRegularFile(dir.resolve("tokenizer.json"));
        boolean slow = Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"));
        if (!fast && !slow) {
            out.add(new CheckpointProblem(dir, "tokenizer files missing: expected tokenizer.json, or vocab.json and merges.txt"));
        }
        for (String json : List.of("tokenizer.json", "vocab.json", "special_tokens_map.json", "added_tokens.json")) {
            Path p = dir.resolve(json);
            if (Files.isRegularFile(p)) check(out, () -> readJsonObject(p));
        }
        Path merges = dir.resolve("merges.txt");
        if (Files.isRegularFile(merges)) {
            try {
                if (Files.size(merges) == 0) out.add(new CheckpointProblem(merges, "is empty; expected BPE merge rules"));
            } catch (IOException e) {
                out.add(new CheckpointProblem(merges, "cannot read: " + MessageText.reason(e)));
            }
        }
    }

    /** Runs one check, adding what it finds to {@code out}; a config value problem is reported in the config file. */
    private <T> T check(List<CheckpointProblem> out, java.util.function.Supplier<T> step) {
        try {
            return step.get();
        } catch (CheckpointException e) {
            out.addAll(e.problems());
            return null;
        } catch (ConfigProblem e) {
            out.add(CheckpointProblem.of(configFile(), e));
            return null;
        }
    }

    static JsonNode readJsonObject(Path file) {
        JsonNode n;
        try {
            n = JSON.readTree(Files.readAllBytes(file));
        } catch (JacksonException e) {
            throw new CheckpointException(file, "is not valid JSON: " + MessageText.reason(e), e);
        } catch (IOException e) {
            throw new CheckpointException(file, "cannot read: " + MessageText.reason(e), e);
        }
        if (n == null || !n.isObject()) throw new CheckpointException(file, "is not a JSON object");
        return n;
    }

    @Override
    public String toString() { return name + " (" + library + " " + className + ") at " + dir; }
}
