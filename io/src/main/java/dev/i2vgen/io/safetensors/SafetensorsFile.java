package dev.i2vgen.io.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.MessageText;
import dev.i2vgen.io.Utf8Text;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A memory-mapped safetensors file. Tensors are zero-copy views of the mapping, valid while the file
 * is open (the mapping lives in a shared arena closed by {@link #close()}).
 */
public final class SafetensorsFile implements SafetensorsSource {
    /** One header entry. */
    public record Entry(String name, DType dtype, int[] shape, long begin, long end) {}

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private final long dataStart;

    private SafetensorsFile(Path path, Arena arena, MemorySegment mapping, Map<String, Entry> entries,
                            Map<String, String> metadata, long dataStart) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.entries = entries;
        this.metadata = metadata;
        this.dataStart = dataStart;
    }

    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new SafetensorsFormatException(path, null, "file is " + size + " bytes, shorter than the 8-byte header length");
            MemorySegment map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = map.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            SafetensorsHeader header = SafetensorsHeader.parse(path, map, headerLen, size);
            return new SafetensorsFile(path, arena, map, header.entries(), header.metadata(), 8 + headerLen);
        } catch (IOException e) {
            arena.close();
            throw new SafetensorsFormatException(path, null, "cannot read: " + MessageText.reason(e));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() { return path; }

    @Override
    public List<Path> files() { return List.of(path); }

    /** The header entry of {@code name} (dtype, shape, offsets within the data section). */
    public Entry entry(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new SafetensorsFormatException(path, name, "no such tensor" + nearby(name));
        return e;
    }

    public Map<String, Entry> entries() { return Collections.unmodifiableMap(entries); }

    /** The {@code __metadata__} string map (empty when absent). */
    @Override
    public Map<String, String> metadata() { return metadata; }

    @Override
    public Tensor get(String name) {
        Entry e = entry(name);
        MemorySegment slice = mapping.asSlice(dataStart + e.begin(), e.end() - e.begin());
        return Tensor.wrap(slice, e.dtype(), e.shape());
    }

    @Override
    public boolean contains(String name) { return entries.containsKey(name); }

    @Override
    public Set<String> names() { return Collections.unmodifiableSet(entries.keySet()); }

    @Override
    public String description() { return path.toString(); }

    /**
     * The file is shorter now than the mapping (truncated or rewritten in place under the running process): pages
     * past its new end fault when read. A file removed or replaced by a rename keeps its mapped data, so only a
     * shorter file at the same path counts.
     */
    @Override
    public Optional<SafetensorsFormatException> truncation() {
        long now;
        try {
            now = Files.size(path);
        } catch (IOException e) {
            return Optional.empty();
        }
        if (now >= mapping.byteSize()) return Optional.empty();
        return Optional.of(new SafetensorsFormatException(path, null, "was truncated to " + now + " bytes while mapped ("
                + mapping.byteSize() + " bytes when opened): the file changed under the running process; restore it and run again"));
    }

    @Override
    public void close() { arena.close(); }

    private String nearby(String name) {
        String prefix = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
        var similar = entries.keySet().stream().filter(k -> k.startsWith(prefix)).limit(5).toList();
        return similar.isEmpty() ? " (" + entries.size() + " tensors in the file)" : " (similar: " + similar + ")";
    }

    /** Header parsing and validation, kept apart from the mapping logic. */
    record SafetensorsHeader(Map<String, Entry> entries, Map<String, String> metadata) {
        static final long MAX_HEADER = 100L * 1024 * 1024;
        /** Strict: trailing garbage after the JSON value and duplicate keys are errors, not silently ignored. */
        private static final ObjectMapper JSON = com.fasterxml.jackson.databind.json.JsonMapper.builder()
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();

        static SafetensorsHeader parse(Path path, MemorySegment map, long headerLen, long fileSize) {
            if (headerLen <= 0 || headerLen > MAX_HEADER) {
                throw new SafetensorsFormatException(path, null, "header length " + headerLen + " is not in 1.." + MAX_HEADER);
            }
            if (8 + headerLen > fileSize) {
                throw new SafetensorsFormatException(path, null, "header length " + headerLen + " runs past the end of the file (" + fileSize + " bytes)");
            }
            byte[] bytes = map.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            JsonNode root;
            try {
                root = JSON.readTree(Utf8Text.decode(bytes));
            } catch (Utf8Text.InvalidUtf8Exception e) {
                throw new SafetensorsFormatException(path, null, "header is " + e.getMessage() + " of the header");
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new SafetensorsFormatException(path, null, "header is not valid JSON: " + MessageText.reason(e));
            }
            if (root == null || !root.isObject()) throw new SafetensorsFormatException(path, null, "header is not a JSON object");
            long dataSize = fileSize - 8 - headerLen;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> f : root.properties()) {
                if (f.getKey().equals("__metadata__")) {
                    if (!f.getValue().isObject()) throw new SafetensorsFormatException(path, null, "__metadata__ is not an object");
                    f.getValue().properties().forEach(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(f.getKey(), entry(path, f.getKey(), f.getValue(), dataSize));
            }
            checkOverlaps(path, entries);
            return new SafetensorsHeader(entries, Collections.unmodifiableMap(metadata));
        }

        private static Entry entry(Path path, String name, JsonNode n, long dataSize) {
            if (!n.isObject()) throw new SafetensorsFormatException(path, name, "entry is not an object");
            JsonNode dt = n.get("dtype"), sh = n.get("shape"), off = n.get("data_offsets");
            if (dt == null || !dt.isTextual()) throw new SafetensorsFormatException(path, name, "missing dtype");
            DType dtype = DType.fromSafetensors(dt.asText());
            if (dtype == null) throw new SafetensorsFormatException(path, name, "unknown dtype '" + dt.asText() + "' (expected F32, F16, BF16, F64, I64, I32, I16, I8, U8 or BOOL)");
            if (sh == null || !sh.isArray()) throw new SafetensorsFormatException(path, name, "missing shape");
            int[] shape = new int[sh.size()];
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = sh.get(i);
                // Integral only: Jackson would read 4.5 as 4 (safetensors' own reader refuses it).
                if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                    throw new SafetensorsFormatException(path, name, "bad dimension " + d + " in shape " + sh
                            + ": dimensions are integers in 0.." + Integer.MAX_VALUE);
                }
                shape[i] = (int) d.asLong();
            }
            if (off == null || !off.isArray() || off.size() != 2 || !isLong(off.get(0)) || !isLong(off.get(1))) {
                throw new SafetensorsFormatException(path, name, "data_offsets must be [begin, end]");
            }
            long begin = off.get(0).asLong(), end = off.get(1).asLong();
            if (begin < 0 || end < begin) throw new SafetensorsFormatException(path, name, "bad data_offsets [" + begin + ", " + end + "]");
            if (end > dataSize) {
                throw new SafetensorsFormatException(path, name, "data_offsets end " + end + " is beyond the data section (" + dataSize + " bytes): file truncated?");
            }
            long expected;
            try {
                // Exact: dimensions whose product overflows could otherwise wrap to a byte count the offsets match.
                long bytes = dtype.byteSize();
                for (int d : shape) bytes = Math.multiplyExact(bytes, d);
                expected = bytes;
            } catch (ArithmeticException overflow) {
                throw new SafetensorsFormatException(path, name, "shape " + sh + " of " + dtype + " has more bytes than a long can count");
            }
            if (end - begin != expected) {
                throw new SafetensorsFormatException(path, name, "shape " + sh + " of " + dtype + " needs " + expected + " bytes, data_offsets give " + (end - begin));
            }
            return new Entry(name, dtype, shape, begin, end);
        }

        private static boolean isLong(JsonNode n) { return n.isIntegralNumber() && n.canConvertToLong(); }

        private static void checkOverlaps(Path path, Map<String, Entry> entries) {
            Entry[] sorted = entries.values().stream().filter(e -> e.end() > e.begin())
                    .sorted(java.util.Comparator.comparingLong(Entry::begin)).toArray(Entry[]::new);
            for (int i = 1; i < sorted.length; i++) {
                if (sorted[i].begin() < sorted[i - 1].end()) {
                    throw new SafetensorsFormatException(path, sorted[i].name(), "data overlaps tensor '" + sorted[i - 1].name() + "'");
                }
            }
        }
    }
}
