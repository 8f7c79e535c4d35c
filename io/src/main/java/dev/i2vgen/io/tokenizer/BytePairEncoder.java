package dev.i2vgen.io.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-pair encoding of one pre-tokenised word (spec §1.3 step E): start from the word's byte symbols with
 * {@code </w>} glued to the last one, then repeatedly merge the adjacent pair with the lowest merge rank
 * until no adjacent pair is a known merge. Thread-safe; results are cached per word.
 */
final class BytePairEncoder {
    static final String END_OF_WORD = "</w>";
    /** Prompts reuse few words; the bound only guards against unbounded growth in a long-running server. */
    private static final int CACHE_LIMIT = 100_000;

    private final Map<String, Integer> vocab;
    private final Map<String, Integer> mergeRanks;
    private final int unknownId;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param vocab     token → id
     * @param merges    merge pairs in rank order (index = rank), each {left, right}
     * @param unknownId id for a token missing from the vocabulary (cannot happen with a complete byte alphabet)
     */
    BytePairEncoder(Map<String, Integer> vocab, List<String[]> merges, int unknownId) {
        this.vocab = Map.copyOf(vocab);
        Map<String, Integer> ranks = new HashMap<>(merges.size() * 2);
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] pair = merges.get(rank);
            // The first occurrence wins, as in both reference implementations.
            ranks.putIfAbsent(pairKey(pair[0], pair[1]), rank);
        }
        this.mergeRanks = ranks;
        this.unknownId = unknownId;
    }

    /** Symbols never contain a space (space is byte symbol 'Ġ'), so a space separates the pair unambiguously. */
    private static String pairKey(String left, String right) { return left + ' ' + right; }

    /** Ids of the BPE tokens of {@code word}, a non-empty string of byte symbols. The array must not be modified. */
    int[] encodeWord(String word) {
        int[] cached = cache.get(word);
        if (cached != null) return cached;
        List<String> tokens = merge(word);
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = vocab.getOrDefault(tokens.get(i), unknownId);
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.putIfAbsent(word, ids);
        return ids;
    }

    /** The BPE token strings of {@code word} (byte symbols, {@code </w>} on the last token). */
    List<String> merge(String word) {
        if (word.isEmpty()) throw new IllegalArgumentException("BPE needs a non-empty word");
        List<String> symbols = new ArrayList<>(word.length());
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            symbols.add(new String(Character.toChars(cp)));
            i += Character.charCount(cp);
        }
        symbols.set(symbols.size() - 1, symbols.getLast() + END_OF_WORD);

        while (symbols.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String bestLeft = null, bestRight = null;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = mergeRanks.get(pairKey(symbols.get(i), symbols.get(i + 1)));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    bestLeft = symbols.get(i);
                    bestRight = symbols.get(i + 1);
                }
            }
            if (bestLeft == null) break;
            // Replace every occurrence of the best pair, non-overlapping, greedily from the left.
            List<String> merged = new ArrayList<>(symbols.size());
            for (int i = 0; i < symbols.size(); i++) {
                if (i + 1 < symbols.size() && symbols.get(i).equals(bestLeft) && symbols.get(i + 1).equals(bestRight)) {
                    merged.add(bestLeft + bestRight);
                    i++;
                } else {
                    merged.add(symbols.get(i));
                }
            }
            symbols = merged;
        }
        return symbols;
    }
}
