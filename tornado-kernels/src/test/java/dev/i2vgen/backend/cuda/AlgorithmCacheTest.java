package dev.i2vgen.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The on-disk algorithm choices: kept between processes, merged between concurrent ones, ignored when damaged or off. */
class AlgorithmCacheTest {
    private static final String GPU = "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, driver 13000, NVRTC 13.0)";

    @Test
    void choicesSurviveTheProcessAndAreKeptPerDevice(@TempDir Path dir) {
        try (AlgorithmCache first = AlgorithmCache.open(dir, GPU)) {
            assertEquals(Optional.empty(), first.get("k1"));
            first.put("k1", "a b\tc");
        }
        try (AlgorithmCache second = AlgorithmCache.open(dir, GPU); AlgorithmCache other = AlgorithmCache.open(dir, "another GPU")) {
            assertEquals(Optional.of("a b c"), second.get("k1"), "tabs become spaces: one line per key");
            assertEquals(Optional.empty(), other.get("k1"));
        }
    }

    @Test
    void concurrentProcessesMergeTheirAdditions(@TempDir Path dir) {
        AlgorithmCache a = AlgorithmCache.open(dir, GPU), b = AlgorithmCache.open(dir, GPU);
        a.put("from a", "1");
        b.put("from b", "2");
        a.close();
        b.close();   // b read the file before a wrote it: its write must keep a's entry
        try (AlgorithmCache c = AlgorithmCache.open(dir, GPU)) {
            assertEquals(Optional.of("1"), c.get("from a"));
            assertEquals(Optional.of("2"), c.get("from b"));
        }
    }

    @Test
    void aDamagedFileIsIgnoredAndReplaced(@TempDir Path dir) throws Exception {
        try (AlgorithmCache a = AlgorithmCache.open(dir, GPU)) {
            a.put("k", "v");
        }
        Path file;
        try (var files = Files.list(dir)) {
            file = files.findFirst().orElseThrow();
        }
        Files.write(file, new byte[] {(byte) 0xff, (byte) 0xfe, '\t', 0x00});   // not UTF-8
        try (AlgorithmCache b = AlgorithmCache.open(dir, GPU)) {
            assertEquals(Optional.empty(), b.get("k"));
            b.put("k", "w");
        }
        try (AlgorithmCache c = AlgorithmCache.open(dir, GPU)) {
            assertEquals(Optional.of("w"), c.get("k"));
        }
    }

    @Test
    void switchedOffItKeepsNothing(@TempDir Path dir) throws Exception {
        System.setProperty("i2vgen.cuda.algorithmCache", "false");
        try (AlgorithmCache a = AlgorithmCache.open(dir, GPU)) {
            a.put("k", "v");
            assertFalse(a.get("k").isPresent());
        } finally {
            System.clearProperty("i2vgen.cuda.algorithmCache");
        }
        try (var files = Files.list(dir)) {
            assertTrue(files.findAny().isEmpty());
        }
    }

    @Test
    void storedChoicesReadBackEqual() {
        var choice = new CudnnConvolution.Choice(6, 1, 123_456_789L, 0.8125f, 41.5f);
        assertEquals(Optional.of(choice), CudnnConvolution.Choice.parse(choice.format()));
        assertEquals(Optional.empty(), CudnnConvolution.Choice.parse("none"));
        var island = new ConvIsland(true, 7, 1.25f, 0.75f, 0.5f);
        assertEquals(island, ConvIsland.parse(island.format()));
    }
}
