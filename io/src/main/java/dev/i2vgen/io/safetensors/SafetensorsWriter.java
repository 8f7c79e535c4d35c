package dev.i2vgen.io.safetensors;

import dev.i2vgen.io.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files in the layout of the reference (Rust/Python) library: 8-byte little-endian
 * header length, a JSON header padded with spaces to a multiple of 8 bytes, then the raw little-endian
 * tensor data. Tensors are laid out largest element size first, then by name, so that every tensor
 * starts at an offset aligned to its element size (the data section itself starts 8-aligned).
 * The file is written next to the target under a temporary name and then renamed, so a reader never
 * sees a half-written file.
 *
 * <pre>{@code
 * new SafetensorsWriter().put("w", tensor).metadata("format", "pt").write(path);
 * }</pre>
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Copies go through ByteBuffers, which are int-indexed: write big tensors in chunks. */
    private static final long CHUNK = 1L << 30;

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a tensor (any dtype, contiguous or a strided view: views are written in logical order). */
    public SafetensorsWriter put(String name, Tensor tensor) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("tensor name must be non-empty");
        if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
        if (tensors.putIfAbsent(name, tensor) != null) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        return this;
    }

    public SafetensorsWriter putAll(Map<String, Tensor> named) {
        named.forEach(this::put);
        return this;
    }

    /** Adds one {@code __metadata__} entry (safetensors allows string values only). */
    public SafetensorsWriter metadata(String key, String value) {
        if (key == null || value == null) throw new IllegalArgumentException("metadata key and value must be non-null");
        metadata.put(key, value);
        return this;
    }

    public SafetensorsWriter metadata(Map<String, String> entries) {
        entries.forEach(this::metadata);
        return this;
    }

    /** Convenience: writes {@code named} with {@code meta} to {@code path}. */
    public static void write(Path path, Map<String, Tensor> named, Map<String, String> meta) {
        new SafetensorsWriter().putAll(named).metadata(meta).write(path);
    }

    /** Writes the file: to a temporary file in the same folder, then an atomic rename onto {@code path}. */
    public void write(Path path) {
        List<Map.Entry<String, Tensor>> order = new ArrayList<>(tensors.entrySet());
        order.sort(Comparator.<Map.Entry<String, Tensor>>comparingInt(e -> -e.getValue().dtype().byteSize())
                .thenComparing(Map.Entry::getKey));
        byte[] header = header(order);

        try {
            Files.createDirectories(path.toAbsolutePath().getParent());
            AtomicFiles.writeFile(path, tmp -> {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                    writeFully(ch, len);
                    writeFully(ch, ByteBuffer.wrap(header));
                    for (Map.Entry<String, Tensor> e : order) writeData(ch, e.getValue());
                    ch.force(true);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot write safetensors file: " + dev.i2vgen.io.MessageText.reason(e), e);
        }
    }

    private byte[] header(List<Map.Entry<String, Tensor>> order) {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : order) {
            Tensor t = e.getValue();
            ObjectNode n = root.putObject(e.getKey());
            n.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = n.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            long end = offset + t.byteSize();
            n.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Pad with spaces (valid JSON whitespace) so the data section starts 8-byte aligned, as the reference library does.
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        for (int i = json.length; i < padded; i++) out[i] = ' ';
        if (out.length > SafetensorsFile.SafetensorsHeader.MAX_HEADER) {
            throw new IllegalArgumentException("safetensors header would be " + out.length + " bytes, over the "
                    + SafetensorsFile.SafetensorsHeader.MAX_HEADER + "-byte limit readers enforce");
        }
        return out;
    }

    private static void writeData(FileChannel ch, Tensor t) throws IOException {
        if (t.isContiguous()) {
            writeSegment(ch, t.contiguousSegment());
            return;
        }
        // Strided view: gather element bytes exactly (no float round trip, so I64 etc. stay exact).
        int size = t.dtype().byteSize();
        int[] shape = t.shape();
        long[] strides = t.strides();
        long n = t.numel();
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(Math.max(n * size, 1), 1 << 20));
        MemorySegment src = t.segment();
        for (long flat = 0; flat < n; flat++) {
            long e = t.offset(), rest = flat;
            for (int i = shape.length - 1; i >= 0; i--) {
                e += (rest % shape[i]) * strides[i];
                rest /= shape[i];
            }
            if (buf.remaining() < size) {
                buf.flip();
                writeFully(ch, buf);
                buf.clear();
            }
            for (int b = 0; b < size; b++) buf.put(src.get(ValueLayout.JAVA_BYTE, e * size + b));
        }
        buf.flip();
        writeFully(ch, buf);
    }

    private static void writeSegment(FileChannel ch, MemorySegment seg) throws IOException {
        for (long pos = 0; pos < seg.byteSize(); pos += CHUNK) {
            writeFully(ch, seg.asSlice(pos, Math.min(CHUNK, seg.byteSize() - pos)).asByteBuffer());
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }
}
