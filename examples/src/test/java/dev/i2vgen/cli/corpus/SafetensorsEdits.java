package dev.i2vgen.cli.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.io.safetensors.SafetensorsWriter;
import dev.i2vgen.tensor.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Edits of a safetensors file for the malformed-input corpus, done on its bytes the way a broken converter or a bad
 * copy would leave them: the JSON header rewritten (one field of one tensor, or a tensor dropped) with the data
 * section kept as it is, one float of the data overwritten in place, or the file split into shards with an index.
 * A shard index given as the file of a header or value edit means the shard that holds the tensor.
 */
final class SafetensorsEdits {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsEdits() {}

    /** The parsed header and where the data section starts. */
    private record Header(ObjectNode json, long dataStart) {}

    /** Sets {@code field} ("dtype", "shape", "data_offsets") of {@code tensor} to {@code value}; the data stays. */
    static void setHeaderField(Path file, String tensor, String field, JsonNode value) throws IOException {
        Path shard = holding(file, tensor);
        Header header = read(shard);
        entry(header, shard, tensor).set(field, value);
        rewrite(shard, header);
    }

    /** Drops {@code tensor} from the header (its bytes stay in the data section, unreferenced). */
    static void removeTensor(Path file, String tensor) throws IOException {
        Path shard = holding(file, tensor);
        Header header = read(shard);
        entry(header, shard, tensor);
        header.json().remove(tensor);
        rewrite(shard, header);
    }

    /** Overwrites element {@code index} of the F32 tensor {@code tensor} with {@code value}, in place. */
    static void setValue(Path file, String tensor, long index, float value) throws IOException {
        Path shard = holding(file, tensor);
        Header header = read(shard);
        ObjectNode entry = entry(header, shard, tensor);
        if (!entry.path("dtype").asText().equals("F32")) throw new IllegalArgumentException(shard + ": " + tensor + " is not F32");
        long at = header.dataStart() + entry.path("data_offsets").get(0).asLong() + 4 * index;
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, value), at);
        }
    }

    /**
     * Splits {@code file} ({@code NAME.safetensors}) into {@code parts} shards {@code NAME-0000i-of-0000n.safetensors}
     * (tensors in name order, the first shard holding the first names) and {@code NAME.safetensors.index.json}, as
     * huggingface_hub's sharded saving lays them out, and removes the single file.
     */
    static void shard(Path file, int parts) throws IOException {
        String name = file.getFileName().toString();
        String stem = name.substring(0, name.length() - ".safetensors".length());
        Map<String, String> weightMap = new LinkedHashMap<>();
        try (SafetensorsFile whole = SafetensorsFile.open(file)) {
            List<String> names = new ArrayList<>(whole.names());
            names.sort(null);
            int perShard = (names.size() + parts - 1) / parts;
            for (int p = 0; p < parts; p++) {
                String shardName = String.format("%s-%05d-of-%05d.safetensors", stem, p + 1, parts);
                Map<String, Tensor> tensors = new LinkedHashMap<>();
                for (String t : names.subList(Math.min(p * perShard, names.size()), Math.min((p + 1) * perShard, names.size()))) {
                    tensors.put(t, whole.get(t));
                    weightMap.put(t, shardName);
                }
                SafetensorsWriter.write(file.resolveSibling(shardName), tensors, whole.metadata());
            }
        }
        Files.delete(file);
        JSON.writeValue(file.resolveSibling(name + ".index.json").toFile(), Map.of("metadata", Map.of(), "weight_map", weightMap));
    }

    /** The safetensors file holding {@code tensor}: {@code file} itself, or the shard an index maps it to. */
    private static Path holding(Path file, String tensor) throws IOException {
        if (!file.getFileName().toString().endsWith(".index.json")) return file;
        JsonNode shard = JSON.readTree(file.toFile()).path("weight_map").path(tensor);
        if (!shard.isTextual()) throw new IllegalArgumentException(file + " maps no tensor " + tensor);
        return file.resolveSibling(shard.asText());
    }

    private static ObjectNode entry(Header header, Path file, String tensor) {
        if (!(header.json().get(tensor) instanceof ObjectNode entry)) throw new IllegalArgumentException(file + " has no tensor " + tensor);
        return entry;
    }

    private static Header read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(length, 0);
            ByteBuffer json = ByteBuffer.allocate(Math.toIntExact(length.getLong(0)));
            ch.read(json, 8);
            return new Header((ObjectNode) JSON.readTree(json.array()), 8 + json.capacity());
        }
    }

    /** The file with {@code header}'s JSON (space-padded to 8 bytes, as the reference writer does) and the old data. */
    private static void rewrite(Path file, Header header) throws IOException {
        byte[] json = JSON.writeValueAsString(header.json()).getBytes(StandardCharsets.UTF_8);
        byte[] padded = new byte[(json.length + 7) / 8 * 8];
        java.util.Arrays.fill(padded, (byte) ' ');
        System.arraycopy(json, 0, padded, 0, json.length);
        byte[] old = Files.readAllBytes(file);
        ByteBuffer out = ByteBuffer.allocate(8 + padded.length + old.length - (int) header.dataStart()).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded.length).put(padded).put(old, (int) header.dataStart(), old.length - (int) header.dataStart());
        Files.write(file, out.array());
    }
}
