package dev.i2vgen.io.safetensors;

import dev.i2vgen.tensor.TensorSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Tensors read from safetensors: one file or a sharded set described by a {@code *.index.json}.
 * Tensors are zero-copy views of memory mappings, valid until {@link #close()}.
 */
public sealed interface SafetensorsSource extends TensorSource, AutoCloseable permits SafetensorsFile, ShardedSafetensors {

    /**
     * Opens {@code path}: a {@code .json} file is read as a shard index ({@code weight_map}), anything
     * else as a single safetensors file.
     */
    static SafetensorsSource open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new SafetensorsFormatException(path, null, Files.exists(path) ? "is not a regular file" : "file not found");
        }
        String name = path.getFileName().toString();
        return name.endsWith(".json") ? ShardedSafetensors.open(path) : SafetensorsFile.open(path);
    }

    /** The safetensors files holding the data (one, or every shard). */
    List<Path> files();

    /** The {@code __metadata__} of the file, or of the index ({@code metadata}) for sharded sources. */
    java.util.Map<String, String> metadata();

    /**
     * A file of this source that is now shorter than its mapping, as the error that names it: reading such a mapping
     * past the file's new end raises {@link InternalError} ("a fault occurred in an unsafe memory access operation"),
     * which says nothing of the file. Empty while every file still covers its mapping.
     */
    java.util.Optional<SafetensorsFormatException> truncation();

    @Override
    void close();
}
