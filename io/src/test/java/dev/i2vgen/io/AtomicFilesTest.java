package dev.i2vgen.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AtomicFilesTest {
    @Test
    void finishedOutputsGetOrdinaryPermissionsNotTheTemporaryOnes(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("out.bin");
        AtomicFiles.writeFile(file, tmp -> Files.write(tmp, new byte[]{1, 2, 3}));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        Path folder = dir.resolve("frames");
        AtomicFiles.writeDirectory(folder, tmp -> Files.write(tmp.resolve("a.png"), new byte[]{4}));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(folder)));
    }

    @Test
    void aFailedWriteLeavesNothingAndKeepsTheOldFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("out.bin");
        Files.write(file, new byte[]{9});
        assertThrows(IOException.class, () -> AtomicFiles.writeFile(file, tmp -> {
            Files.write(tmp, new byte[]{1});
            throw new IOException("disk full");
        }));
        assertEquals(9, Files.readAllBytes(file)[0]);
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count());
        }
        assertFalse(Files.exists(dir.resolve("never")));
    }
}
