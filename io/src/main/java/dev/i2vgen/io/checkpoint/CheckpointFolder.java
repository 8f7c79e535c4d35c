package dev.i2vgen.io.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.i2vgen.io.config.ConfigProblem;
import dev.i2vgen.io.config.JsonConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A diffusers pipeline checkpoint folder (e.g. a download of {@code ali-vilab/i2vgen-xl}):
 * {@code model_index.json} names the pipeline class and, per component, its library and class;
 * each component lives in the sub-folder of the same name.
 *
 * <pre>{@code
 * CheckpointFolder ckpt = CheckpointFolder.open(dir);
 * ckpt.validate();                                   // all problems at once, or nothing
 * try (var w = ckpt.component("unet").weights(Variant.FP16)) { ... }
 * }</pre>
 */
public final class CheckpointFolder {
    private final Path dir;
    private final Path modelIndex;
    private final String pipelineClass;
    private final Map<String, ComponentFolder> components;
    /** Set once {@link #validate} found no problem: a loader given this folder does not read every file again. */
    private volatile boolean validated;

    private CheckpointFolder(Path dir, Path modelIndex, String pipelineClass, Map<String, ComponentFolder> components) {
        this.dir = dir;
        this.modelIndex = modelIndex;
        this.pipelineClass = pipelineClass;
        this.components = components;
    }

    /** Reads {@code dir/model_index.json}; throws {@link CheckpointException} naming the file when it is unusable. */
    public static CheckpointFolder open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CheckpointException(dir, Files.exists(dir) ? "is not a folder (expected a diffusers checkpoint folder)" : "checkpoint folder not found");
        }
        Path index = dir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            String there = FolderEntry.notAFile(index);
            throw new CheckpointException(index, (there == null ? "missing" : "is " + there)
                    + ": a diffusers checkpoint folder needs model_index.json listing its components");
        }
        JsonNode root = ComponentFolder.readJsonObject(index);
        List<CheckpointProblem> problems = new ArrayList<>();
        String pipelineClass = null;
        try {
            pipelineClass = new JsonConfig(root, index.toString()).getString("_class_name", null);
        } catch (ConfigProblem e) {
            problems.add(CheckpointProblem.of(index, e));
        }
        Map<String, ComponentFolder> components = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> f : root.properties()) {
            if (f.getKey().startsWith("_")) continue; // _class_name, _diffusers_version, _name_or_path
            JsonNode v = f.getValue();
            if (!v.isArray()) continue; // other pipeline config values (e.g. booleans), not components
            if (v.size() != 2) {
                problems.add(new CheckpointProblem(index, "component '" + f.getKey() + "' must be [library, class], found " + v));
                continue;
            }
            // diffusers writes [null, null] for an optional component that is absent.
            if (v.get(0).isNull() && v.get(1).isNull()) continue;
            if (!v.get(0).isTextual() || !v.get(1).isTextual()) {
                problems.add(new CheckpointProblem(index, "component '" + f.getKey() + "' must be [library, class] strings, found " + v));
                continue;
            }
            String key = f.getKey();
            // The key becomes a folder name: refuse anything that would leave the checkpoint folder.
            if (key.isEmpty() || key.equals(".") || key.equals("..") || key.contains("/") || key.contains("\\") || key.indexOf(0) >= 0) {
                problems.add(new CheckpointProblem(index, "component name '" + f.getKey() + "' is not a plain folder name"));
                continue;
            }
            components.put(key, new ComponentFolder(key, v.get(0).asText(), v.get(1).asText(), dir.resolve(key)));
        }
        if (!problems.isEmpty()) throw new CheckpointException(problems);
        return new CheckpointFolder(dir, index, pipelineClass, Collections.unmodifiableMap(components));
    }

    public Path dir() { return dir; }

    public Path modelIndexFile() { return modelIndex; }

    /** {@code _class_name} of model_index.json, e.g. "I2VGenXLPipeline" (null when absent). */
    public String pipelineClass() { return pipelineClass; }

    /** The pipeline model_index.json names; throws naming the file when it is absent or not one this library runs. */
    public PipelineLayout layout() {
        PipelineLayout layout = PipelineLayout.of(pipelineClass);
        if (layout == null) throw new CheckpointException(List.of(unsupportedPipeline()));
        return layout;
    }

    private CheckpointProblem unsupportedPipeline() {
        return new CheckpointProblem(modelIndex, "'_class_name' " + (pipelineClass == null ? "is required" : "is '" + pipelineClass + "'")
                + ": the pipeline class, one of " + PipelineLayout.supported());
    }

    /** The components by name, in model_index.json order. */
    public Map<String, ComponentFolder> components() { return components; }

    public boolean has(String name) { return components.containsKey(name); }

    /** The component {@code name}; throws naming model_index.json and the components it lists when absent. */
    public ComponentFolder component(String name) {
        ComponentFolder c = components.get(name);
        if (c == null) {
            throw new CheckpointException(modelIndex, "no component '" + name + "' (it lists " + components.keySet() + ")");
        }
        return c;
    }

    /** The typed {@code feature_extractor/preprocessor_config.json}. */
    public FeatureExtractorConfig featureExtractorConfig() {
        ComponentFolder fe = component("feature_extractor");
        return FeatureExtractorConfig.from(fe.config(), fe.configFile());
    }

    /**
     * Every problem of the folder: a pipeline class this library does not run, components it needs that
     * model_index.json lacks or gives another pipeline's class, and for each listed component its folder, config
     * (parsed), safetensors headers (every file and shard index, fully validated) and tokenizer files.
     * Empty when the checkpoint is usable.
     */
    public List<CheckpointProblem> problems() {
        List<CheckpointProblem> out = new ArrayList<>(layoutProblems());
        for (ComponentFolder c : components.values()) out.addAll(c.problems());
        return out;
    }

    /**
     * The problems model_index.json alone shows: a pipeline class this library does not run, components it needs
     * that are missing or of another pipeline's class. Checked before anything is downloaded for the checkpoint.
     */
    public List<CheckpointProblem> layoutProblems() {
        List<CheckpointProblem> out = new ArrayList<>();
        PipelineLayout layout = PipelineLayout.of(pipelineClass);
        if (layout == null) {
            out.add(unsupportedPipeline());
            return out;
        }
        for (String required : layout.components()) {
            ComponentFolder c = components.get(required);
            if (c == null) {
                out.add(new CheckpointProblem(modelIndex, "component '" + required + "' is missing; " + pipelineClass
                        + " needs " + layout.components()));
            } else if (!layout.accepts(required, c.className())) {
                out.add(new CheckpointProblem(modelIndex, "component '" + required + "' is " + c.className() + "; "
                        + pipelineClass + " needs " + layout.expected(required) + " (is this another pipeline's checkpoint?)"));
            }
        }
        return out;
    }

    /**
     * Throws one {@link CheckpointException} listing every problem of {@link #problems()}, if there are any. A folder
     * found valid is not checked again ({@link #validate(PipelineLayout)} too): this object stands for the files as they
     * were when first validated (a command checks them before starting the device, and loads them afterwards).
     */
    public CheckpointFolder validate() {
        if (validated) return this;
        List<CheckpointProblem> problems = problems();
        if (!problems.isEmpty()) throw new CheckpointException(problems);
        validated = true;
        return this;
    }

    /**
     * {@link #validate()} for a loader of {@code expected}: a checkpoint of another pipeline is refused too (the
     * pipeline-neutral loader is {@code VideoPipelines.fromPretrained}, which picks the pipeline by its name).
     */
    public CheckpointFolder validate(PipelineLayout expected) {
        List<CheckpointProblem> problems = new ArrayList<>();
        PipelineLayout layout = PipelineLayout.of(pipelineClass);
        if (layout != null && layout != expected) {
            problems.add(new CheckpointProblem(modelIndex, "'_class_name' is '" + pipelineClass + "', but this is the "
                    + expected.className() + " loader"));
        }
        if (!validated) problems.addAll(problems());
        if (!problems.isEmpty()) throw new CheckpointException(problems);
        validated = true;
        return this;
    }

    @Override
    public String toString() { return "CheckpointFolder[" + dir + ", " + pipelineClass + ", " + components.keySet() + "]"; }
}
