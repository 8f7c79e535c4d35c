package dev.i2vgen.io.tokenizer;

import java.util.List;
import java.util.Map;

/**
 * Everything a tokenizer folder defines, independent of its file layout.
 *
 * @param vocab         token → id (includes the special tokens)
 * @param merges        BPE merges in rank order, each {left, right}
 * @param bosToken      beginning-of-text token text
 * @param eosToken      end-of-text token text
 * @param unkToken      unknown-token text
 * @param padToken      padding token text ({@code <|endoftext|>} for I2VGen-XL, {@code !} for SD 2.x)
 * @param addedTokens   texts matched literally in the raw input before normalisation (special and added tokens)
 * @param maxLength     {@code model_max_length}: padded length, bos and eos included
 */
public record TokenizerDefinition(Map<String, Integer> vocab, List<String[]> merges, String bosToken, String eosToken,
                                  String unkToken, String padToken, List<String> addedTokens, int maxLength) {
    public TokenizerDefinition {
        vocab = Map.copyOf(vocab);
        merges = List.copyOf(merges);
        addedTokens = List.copyOf(addedTokens);
        for (String token : new String[] {bosToken, eosToken, unkToken, padToken}) {
            if (!vocab.containsKey(token)) throw new IllegalArgumentException("special token '" + token + "' is not in the vocabulary");
        }
        for (String token : addedTokens) {
            if (!vocab.containsKey(token)) throw new IllegalArgumentException("added token '" + token + "' has no id");
        }
        if (maxLength < 2) throw new IllegalArgumentException("maxLength must be ≥ 2 (bos + eos), got " + maxLength);
    }
}
