package dev.i2vgen.io.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.MessageText;
import dev.i2vgen.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A checkpoint split over several safetensors files, described by an index such as
 * {@code diffusion_pytorch_model.safetensors.index.json}: {@code {"metadata": {...}, "weight_map":
 * {tensor: shard file name}}}. Shard names are resolved against the index's folder. Every shard is
 * opened (header validated) up front and every mapped tensor is checked to exist in its shard, so a
 * broken set fails at open time with the index, shard and tensor named.
 */
public final class ShardedSafetensors implements SafetensorsSource {
    /** Strict: trailing garbage after the JSON value and duplicate keys are errors, not silently ignored. */
    private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private final Path index;
    private final Map<String, SafetensorsFile> tensorToShard;
    private final List<SafetensorsFile> shards;
    private final Map<String, String> metadata;

    private ShardedSafetensors(Path index, Map<String, SafetensorsFile> tensorToShard, List<SafetensorsFile> shards,
                               Map<String, String> metadata) {
        this.index = index;
        this.tensorToShard = tensorToShard;
        this.shards = shards;
        this.metadata = metadata;
    }

    public static ShardedSafetensors open(Path index) {
        JsonNode root = readIndex(index);
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = root.get("metadata");
        if (meta != null && meta.isObject()) meta.properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
        Map<String, List<String>> byShard = tensorsByShard(index, root);
        Path dir = index.toAbsolutePath().normalize().getParent();
        List<SafetensorsFile> shards = new ArrayList<>();
        Map<String, SafetensorsFile> tensorToShard = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
                Path shardPath = resolveShard(index, dir, e.getKey(), e.getValue());
                SafetensorsFile shard = SafetensorsFile.open(shardPath);
                shards.add(shard);
                for (String name : e.getValue()) {
                    if (!shard.contains(name)) {
                        throw new SafetensorsFormatException(index, name, "weight_map puts it in " + e.getKey()
                                + ", but that shard has no such tensor (" + shard.names().size() + " tensors in the shard)");
                    }
                    tensorToShard.put(name, shard);
                }
            }
        } catch (RuntimeException ex) {
            shards.forEach(SafetensorsFile::close);
            throw ex;
        }
        return new ShardedSafetensors(index, tensorToShard, List.copyOf(shards), Collections.unmodifiableMap(metadata));
    }

    /**
     * The shard file names an index's {@code weight_map} names, each once, sorted: what must be fetched beside the
     * index (the files are not opened). Throws naming the index when it is unreadable or a name would leave its folder.
     */
    public static List<String> shardNames(Path index) {
        Map<String, List<String>> byShard = tensorsByShard(index, readIndex(index));
        for (Map.Entry<String, List<String>> e : byShard.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\") || name.indexOf(0) >= 0) {
                throw new SafetensorsFormatException(index, e.getValue().get(0), "shard name '" + name + "' is not a plain file name beside the index");
            }
        }
        return List.copyOf(byShard.keySet());
    }

    private static JsonNode readIndex(Path index) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(index));
        } catch (IOException e) {
            throw new SafetensorsFormatException(index, null, e instanceof com.fasterxml.jackson.core.JacksonException j
                    ? "shard index is not valid JSON: " + MessageText.reason(j) : "cannot read shard index: " + MessageText.reason(e));
        }
        if (root == null || !root.isObject()) throw new SafetensorsFormatException(index, null, "shard index is not a JSON object");
        return root;
    }

    /** The index's tensors grouped by shard, so a missing shard is reported once with what it should hold. */
    private static Map<String, List<String>> tensorsByShard(Path index, JsonNode root) {
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsFormatException(index, null, "shard index has no \"weight_map\" object");
        }
        Map<String, List<String>> byShard = new TreeMap<>();
        for (Map.Entry<String, JsonNode> f : weightMap.properties()) {
            if (!f.getValue().isTextual()) {
                throw new SafetensorsFormatException(index, f.getKey(), "weight_map value " + f.getValue() + " is not a file name");
            }
            byShard.computeIfAbsent(f.getValue().asText(), k -> new ArrayList<>()).add(f.getKey());
        }
        return byShard;
    }

    private static Path resolveShard(Path index, Path dir, String shardName, List<String> tensors) {
        Path p;
        try {
            p = dir.resolve(shardName).normalize();
        } catch (java.nio.file.InvalidPathException e) {   // e.g. a NUL character: not a file name on any platform
            throw new SafetensorsFormatException(index, tensors.get(0), "shard name '" + shardName + "' is not a valid file name: " + e.getReason());
        }
        // Shards live beside the index; a name escaping the folder is a corrupt (or hostile) index.
        if (!p.startsWith(dir)) {
            throw new SafetensorsFormatException(index, tensors.get(0), "shard '" + shardName + "' is outside the index folder " + dir);
        }
        if (!Files.isRegularFile(p)) {
            throw new SafetensorsFormatException(index, tensors.get(0), "shard file " + p + " is missing (it should hold "
                    + tensors.size() + " tensors: " + preview(tensors) + ")");
        }
        return p;
    }

    private static String preview(List<String> names) {
        return names.size() <= 3 ? String.join(", ", names) : String.join(", ", names.subList(0, 3)) + ", …";
    }

    public Path index() { return index; }

    @Override
    public List<Path> files() { return shards.stream().map(SafetensorsFile::path).toList(); }

    /** The index's {@code metadata} object (e.g. {@code total_size}), values as strings. */
    @Override
    public Map<String, String> metadata() { return metadata; }

    /** The shard holding {@code name}. */
    public SafetensorsFile shardOf(String name) {
        SafetensorsFile s = tensorToShard.get(name);
        if (s == null) throw new SafetensorsFormatException(index, name, "no such tensor in the weight_map (" + tensorToShard.size() + " tensors)");
        return s;
    }

    @Override
    public Tensor get(String name) { return shardOf(name).get(name); }

    @Override
    public boolean contains(String name) { return tensorToShard.containsKey(name); }

    @Override
    public Set<String> names() { return Collections.unmodifiableSet(tensorToShard.keySet()); }

    @Override
    public String description() { return index.toString(); }

    /** The shard holding {@code name} (a tensor the index does not map: the index). */
    @Override
    public String description(String name) {
        SafetensorsFile shard = tensorToShard.get(name);
        return shard == null ? description() : shard.path().toString();
    }

    @Override
    public Optional<SafetensorsFormatException> truncation() {
        return shards.stream().map(SafetensorsFile::truncation).flatMap(Optional::stream).findFirst();
    }

    @Override
    public void close() { shards.forEach(SafetensorsFile::close); }
}
