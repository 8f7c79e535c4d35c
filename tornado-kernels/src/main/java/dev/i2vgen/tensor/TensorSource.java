package dev.i2vgen.tensor;

import java.util.Set;

/** Named tensors, e.g. the weights of one checkpoint component (one or several safetensors files). */
public interface TensorSource {
    /** The tensor called {@code name}; throws with the source and the name when it is missing. */
    Tensor get(String name);

    boolean contains(String name);

    Set<String> names();

    /** Where the tensors come from, for error messages (a file, a folder, "generated"). */
    String description();

    /**
     * Where the tensor {@code name} comes from, for an error message about it: the file that holds it where the
     * tensors come from several (a shard of a sharded checkpoint), else {@link #description()}.
     */
    default String description(String name) { return description(); }
}
