package dev.i2vgen.io.tokenizer;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The heap-based merge loop gives the reference's tokens, in O(n log n). */
class BytePairEncoderTest {
    /**
     * The reference loop (transformers' slow CLIPTokenizer.bpe, and this class before): find the lowest-ranked
     * adjacent pair, merge all its occurrences left to right without overlap, repeat. Quadratic.
     */
    private static List<String> referenceMerge(String word, Map<String, Integer> ranks) {
        List<String> symbols = new ArrayList<>();
        word.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
        symbols.set(symbols.size() - 1, symbols.getLast() + BytePairEncoder.END_OF_WORD);
        List<String> current = symbols;
        while (current.size() > 1) {
            int bestRank = Integer.MAX_VALUE;
            String left = null, right = null;
            for (int i = 0; i + 1 < current.size(); i++) {
                Integer r = ranks.get(current.get(i) + " " + current.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    left = current.get(i);
                    right = current.get(i + 1);
                }
            }
            if (left == null) break;
            List<String> merged = new ArrayList<>();
            for (int i = 0; i < current.size(); i++) {
                if (i + 1 < current.size() && current.get(i).equals(left) && current.get(i + 1).equals(right)) {
                    merged.add(left + right);
                    i++;
                } else {
                    merged.add(current.get(i));
                }
            }
            current = merged;
        }
        return current;
    }

    /**
     * Random merges over a three-letter alphabet, shuffled so that a merge may rank below the merges that make its
     * parts (real merge lists never do, but the loop must not depend on it), and repeated pairs (the first wins).
     */
    private static List<String[]> randomMerges(Random rng, int count) {
        List<String> tokens = new ArrayList<>(List.of("a", "b", "c", "a</w>", "b</w>", "c</w>"));
        List<String[]> merges = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String left = tokens.get(rng.nextInt(tokens.size()));
            String right = tokens.get(rng.nextInt(tokens.size()));
            if (left.endsWith(BytePairEncoder.END_OF_WORD)) continue;
            merges.add(new String[]{left, right});
            tokens.add(left + right);
        }
        java.util.Collections.shuffle(merges, rng);
        return merges;
    }

    @Property(tries = 500)
    void sameTokensAsTheReferenceLoop(@ForAll long seed, @ForAll @IntRange(min = 1, max = 60) int length,
                                     @ForAll @IntRange(min = 0, max = 40) int mergeCount) {
        Random rng = new Random(seed);
        List<String[]> merges = randomMerges(rng, mergeCount);
        Map<String, Integer> ranks = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) ranks.putIfAbsent(merges.get(r)[0] + " " + merges.get(r)[1], r);
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < length; i++) word.append("abc".charAt(rng.nextInt(rng.nextBoolean() ? 1 : 3)));
        BytePairEncoder bpe = new BytePairEncoder(Map.of(), merges, 0);
        assertEquals(referenceMerge(word.toString(), ranks), bpe.merge(word.toString()), word + " with " + merges.size() + " merges");
    }

    @Test
    void aHundredKilobyteWordTakesWellUnderASecondOrTwo() {
        ClipTokenizer tokenizer = ClipTokenizer.fromFolder(TokenizerTestFolders.vocabMergesLayout());
        Random rng = new Random(14);
        StringBuilder word = new StringBuilder();
        for (int i = 0; i < 100_000; i++) word.append((char) ('a' + rng.nextInt(26)));
        // The quadratic loop took about 16 s for this on a desktop; n log n takes a fraction of a second.
        int[] ids = assertTimeoutPreemptively(Duration.ofSeconds(4), () -> tokenizer.contentIds(word.toString()));
        assertEquals(word.toString(), tokenizer.decode(ids));
    }
}
