package dev.i2vgen.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TemporaryOutputsTest {
    @TempDir Path dir;

    @Test
    void temporariesWhileWritingAreRecognisablyOursAndOwnerOnly() throws IOException {
        List<String> seen = new ArrayList<>();
        AtomicFiles.writeFile(dir.resolve("o.mp4"), tmp -> {
            seen.add(tmp.getFileName().toString());
            seen.add(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp)));
        });
        AtomicFiles.writeDirectory(dir.resolve("frames"), tmp -> seen.add(tmp.getFileName().toString()));
        assertTrue(seen.get(0).matches("\\.o\\.mp4\\.i2vgen-[0-9a-f]{16}\\.tmp"), seen.get(0));
        assertEquals("rw-------", seen.get(1));
        assertTrue(seen.get(2).matches("\\.frames\\.i2vgen-[0-9a-f]{16}\\.tmp"), seen.get(2));
        assertTrue(TemporaryOutputs.isOurs(seen.get(0)) && TemporaryOutputs.isOurs(seen.get(2)));
    }

    @Test
    void onlyOurExactPatternIsRecognised() {
        assertTrue(TemporaryOutputs.isOurs(".o.mp4.i2vgen-0123456789abcdef.tmp"));
        for (String other : List.of("o.mp4", ".o.mp4.tmp", ".o.mp4.8271636151.tmp", ".o.mp4.i2vgen-0123456789ABCDEF.tmp",
                ".o.mp4.i2vgen-0123456789abcde.tmp", "o.mp4.i2vgen-0123456789abcdef.tmp", ".o.mp4.i2vgen-0123456789abcdef.tmp.bak",
                "..i2vgen-0123456789abcdef.tmp")) {
            assertFalse(TemporaryOutputs.isOurs(other), other);
        }
    }

    @Test
    void aVeryLongOutputNameStillGetsAShortEnoughTemporaryName() throws IOException {
        String name = "é".repeat(120) + ".mp4"; // 244 bytes in UTF-8: with the marker appended it would pass 255
        AtomicFiles.writeFile(dir.resolve(name), tmp -> Files.write(tmp, new byte[] {1}));
        assertTrue(Files.exists(dir.resolve(name)));
    }

    @Test
    void leftoversOfKilledRunsAreRemovedByTheNextWriteIntoTheFolder() throws IOException {
        Path staleFile = aged(Files.write(dir.resolve(".o.mp4.i2vgen-00000000000000aa.tmp"), new byte[] {1}), Duration.ofMinutes(11));
        Path staleFolder = Files.createDirectory(dir.resolve(".frames.i2vgen-00000000000000bb.tmp"));
        Files.write(staleFolder.resolve("frame_0000.png"), new byte[] {2});
        aged(staleFolder.resolve("frame_0000.png"), Duration.ofHours(2));
        aged(staleFolder, Duration.ofHours(2));
        // another process may be writing this one right now
        Path recent = Files.write(dir.resolve(".other.gif.i2vgen-00000000000000cc.tmp"), new byte[] {3});
        aged(recent, Duration.ofMinutes(2));
        // old, but not ours
        Path notOurs = aged(Files.write(dir.resolve(".o.mp4.1234567.tmp"), new byte[] {4}), Duration.ofDays(3));
        Path userFile = aged(Files.write(dir.resolve("notes.txt"), new byte[] {5}), Duration.ofDays(3));

        AtomicFiles.writeFile(dir.resolve("new.mp4"), tmp -> Files.write(tmp, new byte[] {6}));

        assertEquals(Set.of("new.mp4", recent.getFileName().toString(), notOurs.getFileName().toString(), "notes.txt"), names(dir));
        assertFalse(Files.exists(staleFile) || Files.exists(staleFolder));
        assertTrue(Files.exists(userFile));
    }

    @Test
    void aFolderWriteAlsoRemovesLeftoversAndAFailedWriteRemovesItsOwnTemporary() throws IOException {
        aged(Files.createDirectory(dir.resolve(".frames.i2vgen-00000000000000dd.tmp")), Duration.ofMinutes(30));
        assertThrows(IllegalStateException.class, () -> AtomicFiles.writeDirectory(dir.resolve("frames"), tmp -> {
            Files.write(tmp.resolve("frame_0000.png"), new byte[] {1});
            throw new IllegalStateException("frame source failed");
        }));
        assertEquals(Set.of(), names(dir));
    }

    private static Path aged(Path p, Duration age) throws IOException {
        Files.setLastModifiedTime(p, FileTime.from(Instant.now().minus(age)));
        return p;
    }

    private static Set<String> names(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
