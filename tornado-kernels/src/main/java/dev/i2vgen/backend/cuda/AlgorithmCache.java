package dev.i2vgen.backend.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Algorithm choices measured at plan build (cuBLASLt candidates, cuDNN algorithms and fused-bias trials, the conv
 * islands' layout timings), kept on disk beside the kernel cache so that a new process on the same GPU, driver and
 * libraries skips the searches: they cost seconds at the start of every run. One tab-separated file per device
 * description (GPU, compute capability, driver, NVRTC), each key naming its library's version; read at backend start,
 * merged with what other processes added and replaced atomically at close. A stored choice is a speed hint only
 * (cuBLASLt's is taken only where the heuristic still offers it). {@code -Di2vgen.cuda.algorithmCache=false} turns it
 * off (A/B runs).
 */
final class AlgorithmCache implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AlgorithmCache.class.getName());

    private final Path file;   // null: off
    private final Map<String, String> entries = new ConcurrentHashMap<>();
    private final Map<String, String> added = new ConcurrentHashMap<>();

    private AlgorithmCache(Path file) {
        this.file = file;
        if (file != null) entries.putAll(read(file));
    }

    /** The cache of this device in {@code dir}, or one that keeps nothing when switched off. */
    static AlgorithmCache open(Path dir, String deviceDescription) {
        if ("false".equals(System.getProperty("i2vgen.cuda.algorithmCache"))) return new AlgorithmCache(null);
        String name = deviceDescription.replaceAll("[^A-Za-z0-9._-]+", "_");
        return new AlgorithmCache(dir.resolve(name + ".tsv"));
    }

    Optional<String> get(String key) {
        return Optional.ofNullable(entries.get(clean(key)));
    }

    void put(String key, String value) {
        if (file == null) return;
        entries.put(clean(key), clean(value));
        added.put(clean(key), clean(value));
    }

    /** Writes what this process added, merged with the file as it is now (another process may have added to it). */
    @Override
    public void close() {
        if (file == null || added.isEmpty()) return;
        try {
            Files.createDirectories(file.getParent());
            Map<String, String> merged = new TreeMap<>(read(file));
            merged.putAll(added);
            StringBuilder text = new StringBuilder();
            merged.forEach((k, v) -> text.append(k).append('\t').append(v).append('\n'));
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            added.clear();
        } catch (IOException e) {
            LOG.warning("cannot write the algorithm cache " + file + " (the next run searches again): " + e);
        }
    }

    private static Map<String, String> read(Path file) {
        Map<String, String> map = new TreeMap<>();
        if (!Files.isRegularFile(file)) return map;
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                int tab = line.indexOf('\t');
                if (tab > 0) map.put(line.substring(0, tab), line.substring(tab + 1));
            }
        } catch (IOException | RuntimeException e) {   // a damaged cache is only slower: search again
            LOG.warning("unreadable algorithm cache " + file + ", ignored: " + e);
            map.clear();
        }
        return map;
    }

    private static String clean(String s) {
        return s.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
    }
}
