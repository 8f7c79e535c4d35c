package dev.i2vgen.io.checkpoint;

import dev.i2vgen.io.reference.ReferenceCase;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Random removal or corruption of files in a copy of the bundled tiny checkpoint: open + validate either passes or
 * throws {@link CheckpointException} whose problems all name a path inside the folder; removals are always reported.
 * The copy is made of symbolic links to the originals (cheap), and only the damaged file becomes a real file.
 */
class CheckpointFolderFuzzTest {
    enum Damage { DELETE_FILE, DELETE_FOLDER, TRUNCATE, FLIP_BYTES, RANDOM_BYTES, EMPTY }

    @Property(tries = 60)
    void damagedCopyIsReportedWithFileNames(@ForAll Damage damage, @ForAll long seed) throws IOException {
        Random rng = new Random(seed);
        Path src = ReferenceCase.bundled("tiny").checkpoint().toAbsolutePath();
        Path dir = Files.createTempDirectory("ckpt");
        try {
            List<Path> files;
            try (Stream<Path> s = Files.walk(src)) {
                for (Path p : s.toList()) {
                    Path target = dir.resolve(src.relativize(p).toString());
                    if (Files.isDirectory(p)) Files.createDirectories(target);
                    else Files.createSymbolicLink(target, p);
                }
            }
            try (Stream<Path> s = Files.walk(dir)) { files = s.filter(Files::isSymbolicLink).sorted().toList(); }
            Path victim = files.get(rng.nextInt(files.size()));
            byte[] original = Files.readAllBytes(victim);
            Files.delete(victim);
            switch (damage) {
                case DELETE_FILE -> { }
                case DELETE_FOLDER -> { // the victim's component folder (model_index.json alone when at the top)
                    if (!victim.getParent().equals(dir)) {
                        victim = victim.getParent();
                        deleteTree(victim);
                    }
                }
                case TRUNCATE -> Files.write(victim, java.util.Arrays.copyOf(original, rng.nextInt(Math.max(1, original.length))));
                case FLIP_BYTES -> {
                    // Flips in the first bytes hit JSON syntax or the safetensors header, where they matter.
                    for (int i = 0, n = 1 + rng.nextInt(4); i < n; i++) {
                        int at = rng.nextInt(Math.min(original.length, 512));
                        original[at] ^= (byte) (1 << rng.nextInt(8));
                    }
                    Files.write(victim, original);
                }
                case RANDOM_BYTES -> {
                    byte[] junk = new byte[rng.nextInt(64)];
                    rng.nextBytes(junk);
                    Files.write(victim, junk);
                }
                case EMPTY -> Files.write(victim, new byte[0]);
            }
            boolean removed = damage == Damage.DELETE_FILE || damage == Damage.DELETE_FOLDER;
            try {
                CheckpointFolder.open(dir).validate();
                assertFalse(removed, "removing " + victim + " must be reported");
            } catch (CheckpointException e) {
                assertFalse(e.problems().isEmpty());
                for (CheckpointProblem p : e.problems()) {
                    assertTrue(p.file().startsWith(dir), p.toString());
                    assertFalse(p.problem().isBlank(), p.toString());
                }
                if (removed) {
                    Path v = victim;
                    assertTrue(e.problems().stream().anyMatch(p -> v.startsWith(p.file()) || p.file().startsWith(v)),
                            "a problem should name " + victim + " or its folder: " + e.getMessage());
                }
            }
        } finally {
            deleteTree(dir);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
