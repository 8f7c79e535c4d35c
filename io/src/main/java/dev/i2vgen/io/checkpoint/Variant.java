package dev.i2vgen.io.checkpoint;

import dev.i2vgen.tensor.DType;

import java.util.regex.Pattern;

/**
 * A weights variant as diffusers names it: the tag inserted before the extension
 * ({@code model.fp16.safetensors}). {@link #NONE} selects the plain files.
 */
public record Variant(String tag) {
    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_-]+");

    public static final Variant NONE = new Variant("");
    public static final Variant FP16 = new Variant("fp16");

    public Variant {
        if (tag == null) throw new IllegalArgumentException("variant tag must not be null (use Variant.NONE)");
        if (!tag.isEmpty() && !TAG.matcher(tag).matches()) {
            throw new IllegalArgumentException("variant '" + tag + "' must be letters, digits, '_' or '-' (e.g. fp16)");
        }
    }

    /** {@code null} or blank → {@link #NONE}. */
    public static Variant of(String tag) {
        return tag == null || tag.isBlank() ? NONE : new Variant(tag.trim());
    }

    /**
     * The variant loaded for a compute precision: {@code fp16} files for F16 and BF16 (a component without them falls
     * back to its plain files), the plain files for F32. The pipelines load, and a Hub download fetches, by this rule.
     */
    public static Variant forComputeType(DType dtype) { return dtype == DType.F32 ? NONE : FP16; }

    public boolean isNone() { return tag.isEmpty(); }

    @Override
    public String toString() { return isNone() ? "(no variant)" : tag; }
}
