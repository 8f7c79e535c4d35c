package dev.i2vgen.io.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.StringJoiner;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Random mixed-script text checked against independent reference code written here from the spec:
 * a one-merge-at-a-time BPE (the tokenizers library's strategy, unlike the production all-occurrences loop),
 * and a round trip text → ids → text that exercises the byte table in both directions.
 */
class ClipTokenizerRandomTextTest {
    private static final String[] ALPHABET = {
            "a", "b", "e", "i", "n", "o", "r", "s", "t", "A", "E", "T", "0", "1", "7", " ", " ", " ", "\t", "\n", "\u00A0",
            "\u3000", ",", ".", "!", "?", "'", "'s", "'ll", "-", "—", "(", ")", "é", "ü", "ß", "ñ", "e\u0301", "Å",
            "東", "京", "タ", "ー", "한", "\uD83D\uDE42", "\uD83C\uDF89", "✓", "€", "ø", "Ω", "ж", "\u0301"};
    private static final Pattern CLIP_WORDS = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static TokenizerDefinition definition;
    private static ClipTokenizer tokenizer;
    private static BytePairEncoder bpe;
    private static Map<String, Integer> ranks;

    @BeforeAll
    static void load() {
        definition = TokenizerFolderReader.read(TokenizerTestFolders.vocabMergesLayout());
        tokenizer = ClipTokenizer.of(definition, TokenizerFlavor.FAST);
        bpe = new BytePairEncoder(definition.vocab(), definition.merges(), 49407);
        ranks = new HashMap<>();
        for (int i = 0; i < definition.merges().size(); i++) {
            ranks.putIfAbsent(definition.merges().get(i)[0] + "\u0000" + definition.merges().get(i)[1], i);
        }
    }

    private static String randomText(Random rnd, int pieces) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < pieces; i++) sb.append(ALPHABET[rnd.nextInt(ALPHABET.length)]);
        return sb.toString();
    }

    /** Merges the single lowest-rank adjacent pair (leftmost on ties) per step until none applies. */
    private static List<String> referenceBpe(String symbols) {
        List<String> w = new ArrayList<>();
        symbols.codePoints().forEach(cp -> w.add(new String(Character.toChars(cp))));
        w.set(w.size() - 1, w.get(w.size() - 1) + "</w>");
        while (true) {
            int best = -1, bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < w.size(); i++) {
                Integer r = ranks.get(w.get(i) + "\u0000" + w.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) return w;
            w.set(best, w.get(best) + w.remove(best + 1));
        }
    }

    @Test
    void bpeAgreesWithOneMergeAtATimeReference() {
        Random rnd = new Random(20240607);
        int words = 0;
        for (int n = 0; n < 300; n++) {
            String text = randomText(rnd, 1 + rnd.nextInt(30)).toLowerCase(Locale.ROOT);
            Matcher m = CLIP_WORDS.matcher(Normalizer.normalize(text, Normalizer.Form.NFC));
            while (m.find()) {
                String symbols = ByteSymbolTable.encode(m.group());
                assertEquals(referenceBpe(symbols), bpe.merge(symbols), "BPE of '" + m.group() + "'");
                words++;
            }
        }
        // Long repetitive words stress the greedy left-to-right replacement.
        for (String w : List.of("aaaaaaaaa", "abababababab", "lololololol", "mississippi", "!!!!!!!!!")) {
            String symbols = ByteSymbolTable.encode(w);
            assertEquals(referenceBpe(symbols), bpe.merge(symbols), w);
        }
        assertEquals(true, words > 300, "enough words checked: " + words);
    }

    @Test
    void decodingRandomTextGivesItsNormalisedWords() {
        Random rnd = new Random(7);
        for (int n = 0; n < 300; n++) {
            String text = randomText(rnd, 1 + rnd.nextInt(40));
            // Reference normalisation: NFC, lower-case (no Σ in the alphabet, so per-character = whole-string).
            String normalized = Normalizer.normalize(text, Normalizer.Form.NFC).toLowerCase(Locale.ROOT);
            StringJoiner words = new StringJoiner(" ");
            Matcher m = CLIP_WORDS.matcher(normalized);
            while (m.find()) words.add(m.group());
            assertEquals(words.toString(), tokenizer.decode(tokenizer.contentIds(text)), "round trip of '" + text + "'");
        }
    }

    @Test
    void byteTableIsABijectionOntoPrintableSymbols() {
        java.util.Set<Character> seen = new java.util.HashSet<>();
        for (int b = 0; b < 256; b++) {
            char s = ByteSymbolTable.symbol(b);
            assertEquals(b, ByteSymbolTable.byteOf(s));
            assertEquals(true, seen.add(s));
            assertEquals(false, Character.isWhitespace(s) || Character.isISOControl(s), "symbol of byte " + b);
            // vocabulary ids 0..255 are the byte symbols in table order, 256..511 the same with </w>
            int id = definition.vocab().get(String.valueOf(s));
            assertEquals(id + 256, (int) definition.vocab().get(s + "</w>"));
        }
        assertEquals('Ġ', ByteSymbolTable.symbol(' '));
        assertEquals('Ń', ByteSymbolTable.symbol(0xAD));
    }
}
