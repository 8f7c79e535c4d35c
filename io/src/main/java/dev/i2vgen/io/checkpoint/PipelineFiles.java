package dev.i2vgen.io.checkpoint;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The files of a diffusers pipeline checkpoint that loading it reads, chosen from a repository's file list before
 * anything is downloaded, by the rules the loader applies to a folder: {@code model_index.json} (read first: it names
 * the components), then for each component it lists
 * <ul>
 *   <li>a network ({@link ComponentKind#MODEL}): {@code config.json} and the one weights file {@link WeightFiles}
 *       chooses for the variant (a shard index: its shards follow from {@code ShardedSafetensors.shardNames} once it
 *       is downloaded), not the repository's other variants or PyTorch pickles;</li>
 *   <li>a tokenizer, scheduler or feature extractor: every file of its folder but weights (diffusers'
 *       {@code DiffusionPipeline.download} takes {@code folder/*} for folders without weights, less {@code *.bin},
 *       {@code *.msgpack}, {@code *.onnx}, {@code *.pb}).</li>
 * </ul>
 * Problems that would make the download useless (a pipeline this library does not run, a component without its config
 * or weights) are reported together before any large file is fetched.
 */
public final class PipelineFiles {
    public static final String MODEL_INDEX = "model_index.json";
    /** What diffusers leaves out when safetensors weights exist (its ignore patterns). */
    private static final List<String> NOT_LOADED = List.of(".bin", ".msgpack", ".onnx", ".pb");

    private PipelineFiles() {}

    /**
     * The repository paths to fetch besides {@code model_index.json} for {@code checkpoint} (opened from the downloaded
     * model_index.json), in {@code repositoryFiles} (paths with '/'), for {@code variant}. Problems are reported under
     * {@code repository} (e.g. {@code org/name@main}) and the component folder, every one at once.
     */
    public static List<String> select(CheckpointFolder checkpoint, Collection<String> repositoryFiles, Variant variant, Path repository) {
        List<CheckpointProblem> problems = new ArrayList<>(checkpoint.layoutProblems());
        List<String> configs = new ArrayList<>(), weights = new ArrayList<>();
        for (ComponentFolder c : checkpoint.components().values()) {
            String prefix = c.name() + "/";
            Set<String> inFolder = new TreeSet<>();
            for (String f : repositoryFiles) if (f.startsWith(prefix) && f.length() > prefix.length()) inFolder.add(f.substring(prefix.length()));
            Path where = repository.resolve(c.name());
            if (inFolder.isEmpty()) {
                problems.add(new CheckpointProblem(where, "folder of component '" + c.name() + "' (" + c.className()
                        + ") is not in the repository"));
                continue;
            }
            String config = c.kind().configFileName();
            if (!inFolder.contains(config)) {
                problems.add(new CheckpointProblem(where.resolve(config), "missing in the repository (component '" + c.name() + "' needs it)"));
            }
            if (c.kind().hasWeights()) {
                if (inFolder.contains(config)) configs.add(prefix + config);
                Set<String> direct = new TreeSet<>();
                for (String f : inFolder) if (!f.contains("/")) direct.add(f);
                WeightFiles.Choice choice = WeightFiles.choose(direct, c.library(), variant);
                if (choice.found()) {
                    weights.add(prefix + choice.file());
                } else {
                    problems.add(new CheckpointProblem(where, choice.problem(variant) + "; the repository's folder holds " + preview(direct)));
                }
            } else {
                for (String f : inFolder) if (isLoaded(f)) configs.add(prefix + f);
            }
        }
        if (!problems.isEmpty()) throw new CheckpointException(problems);
        List<String> out = new ArrayList<>(configs);
        out.addAll(weights);
        return out;
    }

    /** A shard index ({@code *.safetensors.index*.json}), whose shards are fetched once it has been read. */
    public static boolean isShardIndex(String path) {
        String name = path.substring(path.lastIndexOf('/') + 1);
        return name.endsWith(".json") && name.contains(".safetensors.index");
    }

    private static boolean isLoaded(String file) {
        for (String ext : NOT_LOADED) if (file.endsWith(ext)) return false;
        return true;
    }

    private static String preview(Set<String> names) {
        List<String> list = new ArrayList<>(names);
        return list.size() <= 8 ? list.toString() : list.subList(0, 8) + " and " + (list.size() - 8) + " more";
    }
}
