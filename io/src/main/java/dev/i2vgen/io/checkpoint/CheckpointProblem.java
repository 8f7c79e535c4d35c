package dev.i2vgen.io.checkpoint;

import dev.i2vgen.io.config.ConfigProblem;

import java.nio.file.Path;

/** One problem found while validating a checkpoint: the file (or folder) concerned and what is wrong. */
public record CheckpointProblem(Path file, String problem) {
    /** A config value problem, as found in {@code file}: "'key' must be ..., got ...". */
    public static CheckpointProblem of(Path file, ConfigProblem e) {
        return new CheckpointProblem(file, "'" + e.key() + "' " + e.detail());
    }

    @Override
    public String toString() { return file + ": " + problem; }
}
