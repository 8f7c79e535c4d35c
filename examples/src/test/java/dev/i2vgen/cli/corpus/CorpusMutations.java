package dev.i2vgen.cli.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.function.Function;
import java.util.zip.CRC32;

/**
 * Applies one mutation of the corpus ({@code {"op": ..., "file": ..., ...}}) to the copy of the checkpoint or to the
 * inputs of a case; {@code file} is a path with placeholders ({@code {checkpoint}/unet/config.json}, {@code {image}},
 * {@code {out}/x.mp4}) that {@code paths} resolves. Every operation is listed in {@link #apply}'s switch, and the
 * corpus file describes each of them.
 */
final class CorpusMutations {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private CorpusMutations() {}

    /**
     * Whether applying {@code mutation} leaves the file unreadable for this process (it is not when the tests run as
     * root, which reads files whatever their permissions): the case cannot show the problem then.
     */
    static boolean takesEffect(JsonNode mutation, Function<String, Path> paths) {
        return !mutation.path("op").asText().equals("chmod") || !Files.isReadable(paths.apply(mutation.path("file").asText()));
    }

    static void apply(JsonNode m, Function<String, Path> paths) throws IOException {
        Path file = paths.apply(required(m, "file").asText());
        switch (required(m, "op").asText()) {
            case "setKey" -> editJson(file, root -> root.set(required(m, "key").asText(), required(m, "value")));
            case "removeKey" -> editJson(file, root -> root.remove(required(m, "key").asText()));
            case "replaceText" -> {
                String text = Files.readString(file), find = required(m, "find").asText();
                if (!text.contains(find)) throw new IllegalArgumentException(file + " does not contain " + find);
                Files.writeString(file, text.replace(find, required(m, "replace").asText()));
            }
            case "write" -> Files.write(file, m.has("hex") ? HexFormat.of().parseHex(m.get("hex").asText())
                    : required(m, "text").asText().getBytes(StandardCharsets.UTF_8));
            case "truncate" -> {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) { ch.truncate(required(m, "bytes").asLong()); }
            }
            case "delete" -> Files.delete(file);
            case "rename" -> Files.move(file, file.resolveSibling(required(m, "to").asText()));
            case "mkdir" -> {
                Files.createDirectories(file);
                if (m.has("holding")) Files.writeString(file.resolve(m.get("holding").asText()), "not ours");
            }
            case "replaceByDirectory" -> {
                Files.delete(file);
                Files.createDirectory(file);
            }
            case "symlinkLoop" -> {
                Path other = file.resolveSibling(required(m, "via").asText());
                Files.deleteIfExists(file);
                Files.createSymbolicLink(file, other.getFileName());
                Files.createSymbolicLink(other, file.getFileName());
            }
            case "chmod" -> Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(required(m, "permissions").asText()));
            case "pngHeader" -> Files.write(file, pngHeader(required(m, "width").asInt(), required(m, "height").asInt()));
            case "safetensorsHeader" -> SafetensorsEdits.setHeaderField(file, required(m, "tensor").asText(),
                    required(m, "field").asText(), required(m, "value"));
            case "removeTensor" -> SafetensorsEdits.removeTensor(file, required(m, "tensor").asText());
            case "tensorValue" -> SafetensorsEdits.setValue(file, required(m, "tensor").asText(), required(m, "index").asLong(),
                    Float.parseFloat(required(m, "value").asText()));
            case "shard" -> SafetensorsEdits.shard(file, required(m, "parts").asInt());
            default -> throw new IllegalArgumentException("unknown mutation op in " + m);
        }
    }

    private static JsonNode required(JsonNode m, String field) {
        JsonNode v = m.get(field);
        if (v == null) throw new IllegalArgumentException("mutation " + m + " needs '" + field + "'");
        return v;
    }

    private static void editJson(Path file, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(file.toFile());
        edit.accept(root);
        JSON.writeValue(file.toFile(), root);
    }

    /**
     * A PNG of only a signature and an IHDR chunk (valid CRC) claiming {@code width × height} RGB pixels: a header a
     * reader trusts before any pixel data, as a crafted or cut-off file presents it.
     */
    private static byte[] pngHeader(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        byte[] type = "IHDR".getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(type);
        crc.update(ihdr.array());
        out.writeBytes(ByteBuffer.allocate(4).putInt(13).array());
        out.writeBytes(type);
        out.writeBytes(ihdr.array());
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        return out.toByteArray();
    }
}
