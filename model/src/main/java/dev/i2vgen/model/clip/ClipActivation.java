package dev.i2vgen.model.clip;

import dev.i2vgen.graph.ops.Unary;

/** transformers' {@code hidden_act} names used by CLIP configs, mapped to the graph's element-wise ops. */
public final class ClipActivation {
    private ClipActivation() {}

    /** "gelu" is the exact erf form; "quick_gelu" is x·σ(1.702x); "gelu_new"/"gelu_pytorch_tanh" the tanh form. */
    public static Unary.Kind fromConfig(String hiddenAct, String source) {
        return switch (hiddenAct) {
            case "gelu" -> Unary.Kind.GELU;
            case "quick_gelu" -> Unary.Kind.QUICK_GELU;
            case "gelu_new", "gelu_pytorch_tanh" -> Unary.Kind.GELU_TANH;
            case "silu", "swish" -> Unary.Kind.SILU;
            default -> throw new IllegalArgumentException(source + ": 'hidden_act' is \"" + hiddenAct
                    + "\"; supported: gelu, quick_gelu, gelu_new, gelu_pytorch_tanh, silu");
        };
    }
}
