package dev.i2vgen.io.tokenizer;

import java.util.Arrays;

/**
 * Token ids of one text and the matching attention mask (1 = real token incl. bos/eos, 0 = padding).
 * Both arrays have the same length. Equality compares contents.
 */
public record TokenizedText(int[] inputIds, int[] attentionMask) {
    public TokenizedText {
        if (inputIds.length != attentionMask.length) {
            throw new IllegalArgumentException("inputIds has " + inputIds.length + " entries but attentionMask has "
                    + attentionMask.length);
        }
        inputIds = inputIds.clone();
        attentionMask = attentionMask.clone();
    }

    @Override public int[] inputIds() { return inputIds.clone(); }

    @Override public int[] attentionMask() { return attentionMask.clone(); }

    public int length() { return inputIds.length; }

    /** Number of non-padding positions (bos and eos included). */
    public int realLength() {
        int n = 0;
        for (int m : attentionMask) n += m;
        return n;
    }

    @Override public boolean equals(Object o) {
        return o instanceof TokenizedText t && Arrays.equals(inputIds, t.inputIds) && Arrays.equals(attentionMask, t.attentionMask);
    }

    @Override public int hashCode() { return 31 * Arrays.hashCode(inputIds) + Arrays.hashCode(attentionMask); }

    @Override public String toString() {
        return "TokenizedText[inputIds=" + Arrays.toString(inputIds) + ", attentionMask=" + Arrays.toString(attentionMask) + "]";
    }
}
