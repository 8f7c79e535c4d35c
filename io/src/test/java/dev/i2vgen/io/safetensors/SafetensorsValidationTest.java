package dev.i2vgen.io.safetensors;

import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Every malformed file gives a {@link SafetensorsFormatException} naming the file and, where known, the tensor. */
class SafetensorsValidationTest {
    @TempDir
    Path tmp;

    private SafetensorsFormatException rejected(Path file, String tensor, String... fragments) {
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(file).close());
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertEquals(file, e.file());
        if (tensor != null) {
            assertEquals(tensor, e.tensor(), e.getMessage());
            assertTrue(e.getMessage().contains("'" + tensor + "'"), "names the tensor: " + e.getMessage());
        }
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "mentions '" + f + "': " + e.getMessage());
        return e;
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("long.safetensors"), 4096, "{}      ", 0);
        rejected(f, null, "header length 4096", "past the end");
    }

    @Test
    void headerLengthOver100MB() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("huge.safetensors"), 200L * 1024 * 1024, "{}      ", 0);
        rejected(f, null, "header length " + (200L * 1024 * 1024));
    }

    @Test
    void fileShorterThanTheLengthPrefix() throws IOException {
        Path f = tmp.resolve("tiny.safetensors");
        java.nio.file.Files.write(f, new byte[]{1, 2, 3});
        rejected(f, null, "3 bytes");
    }

    @Test
    void malformedJson() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("bad.safetensors"), "{\"a\": {\"dtype\": ", 0);
        rejected(f, null, "not valid JSON");
    }

    @Test
    void trailingGarbageAndDuplicateNames() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("trail.safetensors"),
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}} {\"x\"", 1);
        rejected(f, null, "not valid JSON");
        Path g = SafetensorsTestData.rawFile(tmp.resolve("dup.safetensors"),
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                        + "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", 2);
        rejected(g, null, "not valid JSON", "Duplicate field 'w'");
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("dt.safetensors"),
                "{\"w\":{\"dtype\":\"F99\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        rejected(f, "w", "unknown dtype 'F99'");
    }

    @Test
    void shapeDoesNotMatchByteSize() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("sz.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
        rejected(f, "w", "needs 12 bytes", "give 8");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("oor.safetensors"),
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[8,24]}}", 16);
        rejected(f, "w", "beyond the data section");
        Path g = SafetensorsTestData.rawFile(tmp.resolve("neg.safetensors"),
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}", 16);
        rejected(g, "w", "bad data_offsets");
    }

    @Test
    void fractionalOrNegativeDimensionsAreNotRoundedAway() throws IOException {
        // [2.5, 2] would otherwise read as [2, 2], whose 16 bytes match the offsets.
        Path f = SafetensorsTestData.rawFile(tmp.resolve("frac.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5,2],\"data_offsets\":[0,16]}}", 16);
        rejected(f, "w", "bad dimension 2.5 in shape [2.5,2]: dimensions are integers");
        Path g = SafetensorsTestData.rawFile(tmp.resolve("neg.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", 16);
        rejected(g, "w", "bad dimension -4");
        Path h = SafetensorsTestData.rawFile(tmp.resolve("off.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16.5]}}", 16);
        rejected(h, "w", "data_offsets must be [begin, end]");
    }

    @Test
    void headerThatIsNotUtf8IsLocated() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("latin1.safetensors"), "{\"w\u00e9\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        byte[] b = java.nio.file.Files.readAllBytes(f);
        b[8 + 3] = (byte) 0xE9;   // the first byte of "é", alone: Latin-1, not UTF-8
        b[8 + 4] = '"';
        b[8 + 5] = ' ';
        java.nio.file.Files.write(f, b);
        rejected(f, null, "header is not valid UTF-8: byte 0xE9 at offset 3");
    }

    @Test
    void overlappingOffsets() throws IOException {
        Path f = SafetensorsTestData.rawFile(tmp.resolve("ovl.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        rejected(f, "b", "overlaps tensor 'a'");
    }

    @Test
    void truncatedFile() throws IOException {
        Path f = tmp.resolve("trunc.safetensors");
        Random rng = new Random(5);
        new SafetensorsWriter().put("big", SafetensorsTestData.random(rng, DType.F32, 64))
                .put("small", SafetensorsTestData.random(rng, DType.U8, 4)).write(f);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(raf.length() - 2); // cuts into the last tensor only ("small", laid out after the F32 one)
        }
        rejected(f, "small", "truncated");
    }

    @Test
    void missingTensorNamesFileAndTensor() throws IOException {
        Path f = tmp.resolve("m.safetensors");
        new SafetensorsWriter().put("layer.weight", SafetensorsTestData.random(new Random(9), DType.F16, 3)).write(f);
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            var e = assertThrows(SafetensorsFormatException.class, () -> sf.get("layer.bias"));
            assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("'layer.bias'"), e.getMessage());
            assertTrue(e.getMessage().contains("layer.weight"), "suggests similar names: " + e.getMessage());
        }
    }

    @Test
    void missingFile() {
        Path f = tmp.resolve("absent.safetensors");
        var e = assertThrows(SafetensorsFormatException.class, () -> SafetensorsSource.open(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not found"), e.getMessage());
    }

    /**
     * A file over 2 GiB, made sparse (setLength) so the test writes only a few bytes: a tensor whose bytes
     * lie past the 2^31 boundary is still readable through the mapping.
     */
    @Test
    void readsBeyondTwoGibibytesFromASparseFile() throws IOException {
        Path f = tmp.resolve("sparse.safetensors");
        long n = (1L << 31) + 64; // U8 elements of tensor "big"
        String header = "{\"big\":{\"dtype\":\"U8\",\"shape\":[2," + (n / 2) + "],\"data_offsets\":[0," + n + "]},"
                + "\"tail\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[" + n + "," + (n + 8) + "]}}";
        header = header + " ".repeat((8 - header.length() % 8) % 8);
        long dataStart = 8 + header.length();
        SafetensorsTestData.rawFile(f, header, 0);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(dataStart + n + 8);
            raf.seek(dataStart + n - 1);
            raf.write(0x7b);                                  // last byte of "big"
            raf.write(new byte[]{1, 0, 0, 0, (byte) 0xfe, (byte) 0xff, (byte) 0xff, (byte) 0xff}); // tail = [1, -2]
        }
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            var big = sf.get("big");
            assertEquals(n, big.numel());
            assertEquals(0x7b, big.getFlat(n - 1));
            assertEquals(0, big.getFlat(n - 2));
            assertArrayEquals(new float[]{1, -2}, sf.get("tail").toFloatArray());
        }
    }
}
