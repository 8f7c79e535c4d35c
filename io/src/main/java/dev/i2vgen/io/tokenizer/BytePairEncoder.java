package dev.i2vgen.io.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
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

    /**
     * The BPE token strings of {@code word} (byte symbols, {@code </w>} on the last token).
     *
     * <p>The reference rule: take the lowest-ranked adjacent pair, merge all its occurrences left to right without
     * overlap, repeat. Done in O(n log n) as the reference tokenizers do it: the symbols form a linked list and a
     * heap holds candidate pairs by (rank, position); entries made stale by a neighbouring merge are skipped. Ranks
     * are unique per pair, so the entries of the lowest rank, taken together in position order, are exactly the
     * reference's pass over that pair; the pairs the pass creates are offered only after it, as the reference only
     * looks at them in its next round.
     */
    List<String> merge(String word) {
        if (word.isEmpty()) throw new IllegalArgumentException("BPE needs a non-empty word");
        Symbols symbols = new Symbols(word);
        PriorityQueue<long[]> heap = new PriorityQueue<>(Math.max(1, symbols.size), BytePairEncoder::byRankThenPosition);
        for (int i = 0; i + 1 < symbols.size; i++) offer(heap, symbols, i);
        List<Integer> merged = new ArrayList<>();
        while (!heap.isEmpty()) {
            long rank = heap.peek()[0];
            merged.clear();
            while (!heap.isEmpty() && heap.peek()[0] == rank) {
                int at = (int) heap.poll()[1];
                Integer current = symbols.alive(at) && symbols.next[at] >= 0 ? rankOf(symbols, at) : null;
                if (current == null || current != rank) continue; // stale: a neighbour merged since it was offered
                symbols.mergeWithNext(at);
                merged.add(at);
            }
            for (int at : merged) {
                if (symbols.prev[at] >= 0) offer(heap, symbols, symbols.prev[at]);
                if (symbols.next[at] >= 0) offer(heap, symbols, at);
            }
        }
        return symbols.toList();
    }

    private Integer rankOf(Symbols s, int at) { return mergeRanks.get(pairKey(s.text[at], s.text[s.next[at]])); }

    /** Adds the pair starting at {@code at} if it is a merge. */
    private void offer(PriorityQueue<long[]> heap, Symbols s, int at) {
        Integer rank = rankOf(s, at);
        if (rank != null) heap.add(new long[]{rank, at});
    }

    private static int byRankThenPosition(long[] a, long[] b) {
        return a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]);
    }

    /**
     * The word's symbols as a doubly linked list over their starting positions: a merge keeps the left symbol's
     * position, so positions stay in text order and identify a pair for the heap.
     */
    private static final class Symbols {
        final String[] text;
        final int[] prev, next;
        final int size;

        Symbols(String word) {
            int[] codePoints = word.codePoints().toArray();
            size = codePoints.length;
            text = new String[size];
            prev = new int[size];
            next = new int[size];
            for (int i = 0; i < size; i++) {
                text[i] = new String(Character.toChars(codePoints[i]));
                prev[i] = i - 1;
                next[i] = i + 1 < size ? i + 1 : -1;
            }
            text[size - 1] += END_OF_WORD;
        }

        boolean alive(int at) { return text[at] != null; }

        void mergeWithNext(int at) {
            int right = next[at];
            text[at] = text[at] + text[right];
            text[right] = null;
            next[at] = next[right];
            if (next[right] >= 0) prev[next[right]] = at;
        }

        List<String> toList() {
            List<String> out = new ArrayList<>();
            for (int at = 0; at >= 0; at = next[at]) out.add(text[at]);
            return out;
        }
    }
}
