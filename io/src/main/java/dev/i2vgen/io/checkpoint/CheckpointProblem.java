package dev.i2vgen.io.checkpoint;

import java.nio.file.Path;

/** One problem found while validating a checkpoint: the file (or folder) concerned and what is wrong. */
public record CheckpointProblem(Path file, String problem) {
    @Override
    public String toString() { return file + ": " + problem; }
}
