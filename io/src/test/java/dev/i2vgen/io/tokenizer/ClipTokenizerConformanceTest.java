package dev.i2vgen.io.tokenizer;

import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The tokenizer calls recorded by the diffusers reference runs ({@code tokenizer.N.*}): 0 = prompt padded to 77,
 * 1 = prompt unpadded (truncation check), 2 = negative prompt (only with classifier-free guidance; "" when none).
 * Each case's own checkpoint tokenizer folder is used, so both folder layouts are covered.
 */
class ClipTokenizerConformanceTest {

    private static int[] ints(Tensor t) {
        float[] f = t.toFloatArray();
        int[] out = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = Math.round(f[i]);
            assertEquals(out[i], f[i], 0f, "recorded id is not an integer");
        }
        return out;
    }

    private static void check(ReferenceCase c, int call, TokenizedText actual, String text) {
        int[] ids = ints(c.tensor("tokenizer." + call + ".input_ids"));
        int[] mask = ints(c.tensor("tokenizer." + call + ".attention_mask"));
        assertArrayEquals(ids, actual.inputIds(), c.dir().getFileName() + " tokenizer." + call + ".input_ids of '" + text + "'");
        assertArrayEquals(mask, actual.attentionMask(), c.dir().getFileName() + " tokenizer." + call + ".attention_mask");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16", "tiny-noguidance"})
    void matchesRecordedTokenizerCalls(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            ClipTokenizer tokenizer = ClipTokenizer.fromFolder(c.checkpoint().resolve("tokenizer"));
            assertEquals(77, tokenizer.maxLength());
            String prompt = c.prompt();
            check(c, 0, tokenizer.encode(prompt), prompt);
            check(c, 1, tokenizer.encodeUnpadded(prompt), prompt);
            boolean guidance = c.guidance() > 1.0;
            assertEquals(guidance, c.has("tokenizer.2.input_ids"), "negative prompt is tokenised exactly when CFG is on");
            if (guidance) {
                String negative = c.negativePrompt() == null ? "" : c.negativePrompt();
                check(c, 2, tokenizer.encode(negative), negative);
            }
        }
    }
}
