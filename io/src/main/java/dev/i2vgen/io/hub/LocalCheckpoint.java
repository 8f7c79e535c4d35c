package dev.i2vgen.io.hub;

import dev.i2vgen.io.checkpoint.PipelineFiles;
import dev.i2vgen.io.checkpoint.Variant;

import java.nio.file.Path;

/** A checkpoint folder on disk: used as it is (the loader reports what it lacks). */
public record LocalCheckpoint(Path dir) implements ModelReference {
    @Override
    public String describe() { return "folder " + dir; }

    @Override
    public Path modelIndex(DownloadListener listener) { return dir.resolve(PipelineFiles.MODEL_INDEX); }

    @Override
    public Path checkpoint(Variant variant, DownloadListener listener) { return dir; }
}
