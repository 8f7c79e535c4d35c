package dev.i2vgen.io.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Damaged safetensors bytes: random byte strings and mutations of valid files. Whatever the bytes, opening either
 * succeeds and every tensor's view lies inside the file and has exactly the bytes its shape needs, or fails with
 * {@link SafetensorsFormatException} naming the file. Any other exception type fails the property.
 */
class SafetensorsFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    enum Mutation { TRUNCATE, FLIP_BYTE, HEADER_LENGTH, HEADER_TEXT_EDIT, SHIFT_OFFSET, SET_SHAPE, SET_DTYPE, APPEND }

    @Property(tries = 300)
    void randomBytesOpenOrFailNamingTheFile(@ForAll @Size(max = 96) byte[] bytes) throws IOException {
        checkOpens(bytes);
    }

    /** Random bytes behind a header length that points inside the file, so the JSON parser gets garbage. */
    @Property(tries = 200)
    void garbageHeaderOpensOrFailsNamingTheFile(@ForAll @Size(max = 96) byte[] body, @ForAll long seed) throws IOException {
        long len = body.length == 0 ? 0 : 1 + new Random(seed).nextInt(body.length);
        checkOpens(ByteBuffer.allocate(8 + body.length).order(ByteOrder.LITTLE_ENDIAN).putLong(len).put(body).array());
    }

    @Property(tries = 400)
    void mutatedValidFileOpensOrFailsNamingTheFile(@ForAll("validFiles") byte[] valid, @ForAll Mutation mutation,
                                                    @ForAll long seed) throws IOException {
        checkOpens(mutate(valid, mutation, new Random(seed)));
    }

    @Provide
    Arbitrary<byte[]> validFiles() {
        return Arbitraries.longs().map(seed -> {
            Random rng = new Random(seed);
            SafetensorsWriter w = new SafetensorsWriter();
            int n = 1 + rng.nextInt(4);
            for (int i = 0; i < n; i++) {
                DType dt = DType.values()[rng.nextInt(DType.values().length)];
                int[] shape = new int[rng.nextInt(4)];
                for (int d = 0; d < shape.length; d++) shape[d] = rng.nextInt(4);
                w.put("t" + i + ".weight", SafetensorsTestData.random(rng, dt, shape));
            }
            if (rng.nextBoolean()) w.metadata("format", "pt");
            try {
                Path tmp = Files.createTempFile("valid", ".safetensors");
                try {
                    w.write(tmp);
                    return Files.readAllBytes(tmp);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    /** Found by this suite: dimensions whose product overflows a long once claimed to need 0 bytes. */
    @Property(tries = 1)
    void shapeWhoseByteCountOverflowsIsRejected() throws IOException {
        String header = "{\"x\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}";
        Path f = Files.createTempFile("overflow", ".safetensors");
        try {
            SafetensorsTestData.rawFile(f, header, 0);
            SafetensorsFormatException e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(f).close());
            assertEquals(f, e.file());
            assertEquals("x", e.tensor());
        } finally {
            Files.deleteIfExists(f);
        }
    }

    private static byte[] mutate(byte[] valid, Mutation m, Random rng) throws IOException {
        byte[] b = valid.clone();
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen = (int) le.getLong(0);
        return switch (m) {
            case TRUNCATE -> Arrays.copyOf(b, rng.nextInt(b.length));
            case FLIP_BYTE -> {
                // Half the flips hit the header length, where a single bit changes everything.
                int at = rng.nextBoolean() ? rng.nextInt(8) : rng.nextInt(b.length);
                b[at] ^= (byte) (1 << rng.nextInt(8));
                yield b;
            }
            case HEADER_LENGTH -> {
                long[] choices = {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, headerLen - 1L, headerLen + 1L, b.length, b.length - 7L,
                        1L << 32, rng.nextLong()};
                le.putLong(0, choices[rng.nextInt(choices.length)]);
                yield b;
            }
            case HEADER_TEXT_EDIT -> {
                int at = 8 + rng.nextInt(headerLen);
                String replacement = "0123456789-.,:[]{}\"eE \u00e9\u0000".substring(0, 1 + rng.nextInt(20));
                byte[] ins = String.valueOf(replacement.charAt(rng.nextInt(replacement.length()))).getBytes(StandardCharsets.UTF_8);
                byte[] out = new byte[b.length];
                System.arraycopy(b, 0, out, 0, b.length);
                // Overwrite in place so the declared length still matches, keeping the parser busy with the JSON.
                System.arraycopy(ins, 0, out, at, Math.min(ins.length, b.length - at));
                yield out;
            }
            case SHIFT_OFFSET -> editHeader(b, headerLen, rng, (entry, r) -> {
                ArrayNode off = (ArrayNode) entry.get("data_offsets");
                int which = r.nextInt(2);
                long[] deltas = {-1, 1, -8, 8, 1L << 31, -(1L << 40), Long.MAX_VALUE / 2};
                off.set(which, off.get(which).asLong() + deltas[r.nextInt(deltas.length)]);
            });
            case SET_SHAPE -> editHeader(b, headerLen, rng, (entry, r) -> {
                ArrayNode shape = entry.putArray("shape");
                int rank = r.nextInt(6);
                long[] dims = {0, 1, 2, 3, -1, Integer.MAX_VALUE, 1L << 31, 65536, 1L << 62};
                for (int i = 0; i < rank; i++) shape.add(dims[r.nextInt(dims.length)]);
                if (r.nextInt(8) == 0) shape.add("7");
            });
            case SET_DTYPE -> editHeader(b, headerLen, rng, (entry, r) -> {
                String[] dtypes = {"F32", "F16", "BF16", "I64", "U8", "BOOL", "F8_E4M3", "f32", "", "U64"};
                if (r.nextInt(6) == 0) entry.put("dtype", 4);
                else entry.put("dtype", dtypes[r.nextInt(dtypes.length)]);
            });
            case APPEND -> {
                byte[] out = Arrays.copyOf(b, b.length + 1 + rng.nextInt(16));
                for (int i = b.length; i < out.length; i++) out[i] = (byte) rng.nextInt(256);
                yield out;
            }
        };
    }

    interface EntryEdit { void apply(ObjectNode entry, Random rng); }

    /** Re-encodes the header after editing one random tensor entry; the data section is kept as it was. */
    private static byte[] editHeader(byte[] b, int headerLen, Random rng, EntryEdit edit) throws IOException {
        ObjectNode header = (ObjectNode) JSON.readTree(new String(b, 8, headerLen, StandardCharsets.UTF_8));
        var tensors = header.properties().stream().filter(e -> !e.getKey().equals("__metadata__")).toList();
        edit.apply((ObjectNode) tensors.get(rng.nextInt(tensors.size())).getValue(), rng);
        byte[] h = JSON.writeValueAsBytes(header);
        byte[] data = Arrays.copyOfRange(b, 8 + headerLen, b.length);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).put(data).array();
    }

    /** The property itself: opens and stays in bounds, or fails with the parser's own exception naming the file. */
    private static void checkOpens(byte[] bytes) throws IOException {
        Path f = Files.createTempFile("fuzz", ".safetensors");
        try {
            Files.write(f, bytes);
            SafetensorsFile file;
            try {
                file = SafetensorsFile.open(f);
            } catch (SafetensorsFormatException e) {
                assertEquals(f, e.file(), "exception must name the file");
                assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
                return;
            }
            try (file) {
                long headerLen = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                long dataSize = bytes.length - 8 - headerLen;
                for (Iterator<Map.Entry<String, SafetensorsFile.Entry>> it = file.entries().entrySet().iterator(); it.hasNext(); ) {
                    SafetensorsFile.Entry e = it.next().getValue();
                    assertTrue(0 <= e.begin() && e.begin() <= e.end() && e.end() <= dataSize, e.toString());
                    Tensor t = file.get(e.name());
                    long need = Tensor.numel(e.shape()) * e.dtype().byteSize();
                    byte[] read = t.contiguousSegment().toArray(ValueLayout.JAVA_BYTE);
                    assertEquals(need, read.length, e.name());
                    assertArrayEquals(Arrays.copyOfRange(bytes, (int) (8 + headerLen + e.begin()), (int) (8 + headerLen + e.end())), read);
                }
            }
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
