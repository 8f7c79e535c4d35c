package dev.i2vgen.io.hub;

import dev.i2vgen.io.reference.ReferenceCase;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** The tiny checkpoints as Hub repositories, and Hub settings for a test's own cache (the process environment untouched). */
public final class HubFixtures {
    /** Fast retries, so fault tests take milliseconds. */
    public static final RetryPolicy FAST_RETRIES = new RetryPolicy(3, Duration.ofMillis(1), Duration.ofMillis(4));

    private static Map<String, byte[]> tiny;
    private static Map<String, byte[]> tinyBothPrecisions;

    private HubFixtures() {}

    /** The files of conformance/cases/tiny/checkpoint (I2VGen-XL, fp32 weights). */
    public static synchronized Map<String, byte[]> tiny() {
        if (tiny == null) tiny = filesOf(bundledCheckpoint("tiny"));
        return tiny;
    }

    /** The tiny checkpoint with an fp16 variant beside every weights file, as ali-vilab/i2vgen-xl is released. */
    public static synchronized Map<String, byte[]> tinyBothPrecisions() {
        if (tinyBothPrecisions == null) {
            try (FakeHub scratch = FakeHub.start()) {
                tinyBothPrecisions = scratch.repo("scratch/tiny").files(tiny()).withFp16Variants().fileMap();
            }
        }
        return tinyBothPrecisions;
    }

    public static Path bundledCheckpoint(String name) {
        try (ReferenceCase ref = ReferenceCase.bundled(name)) {
            return ref.checkpoint();
        }
    }

    /** The environment a user of {@code hub} would set, with the cache (and HF_HOME) under {@code home}. */
    public static Map<String, String> environment(FakeHub hub, Path home) {
        Map<String, String> env = new HashMap<>();
        env.put("HF_HOME", home.resolve("hf-home").toString());
        env.put("HF_HUB_CACHE", home.resolve("hub-cache").toString());
        env.put("HF_ENDPOINT", hub.endpoint().toString());
        env.put("HF_HUB_DOWNLOAD_TIMEOUT", "2");
        return env;
    }

    public static HubSettings settings(FakeHub hub, Path home) {
        return HubSettings.fromEnvironment(environment(hub, home), home);
    }

    private static Map<String, byte[]> filesOf(Path dir) {
        try (FakeHub scratch = FakeHub.start()) {
            return scratch.repo("scratch/files").folder(dir).fileMap();
        }
    }
}
