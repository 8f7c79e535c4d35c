package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.tensor.DType;

import java.util.ArrayList;
import java.util.List;

/** What to try when a run's numbers go NaN or infinite, from what the run used (for {@link NonFiniteValuesException}). */
final class NonFiniteHints {
    private NonFiniteHints() {}

    /**
     * The denoising loop: a guidance scale beyond float32 first (it is the cause for sure), then the precision, a
     * smaller guidance, and the weights.
     *
     * @param guidanceOption the CLI option of the scale ("--guidance", "--max-guidance")
     * @param guidance       the largest guidance scale of the run
     * @param guided         whether classifier-free guidance is on (else the scale is not used)
     */
    static List<String> denoising(DType activation, String guidanceOption, double guidance, boolean guided) {
        List<String> hints = new ArrayList<>();
        boolean beyondFloat = guided && Float.isInfinite((float) guidance);
        if (beyondFloat) hints.add(guidanceOption + " " + guidance + " exceeds float32 (3.4e38): use a scale such as 1 to 20");
        hints.addAll(precision(activation));
        if (guided && !beyondFloat) hints.add("a smaller " + guidanceOption + " than " + guidance);
        hints.add("check the checkpoint's weights for NaN/Inf values (a failure at step 1 points there)");
        return hints;
    }

    /** A model run outside the loop (an encoder, the VAE decoder), named as {@code component}. */
    static List<String> component(DType activation, String component) {
        List<String> hints = new ArrayList<>(precision(activation));
        hints.add("check " + component + "'s weights for NaN/Inf values");
        return hints;
    }

    private static List<String> precision(DType activation) {
        return switch (activation) {
            case F16 -> List.of("--dtype bf16 or fp32 (fp16 overflows above 65504)");
            case BF16 -> List.of("--dtype fp32");
            default -> List.of();
        };
    }
}
