package dev.i2vgen.io.tokenizer;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.Arrays;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.*;

/** encode() invariants on random Unicode (all planes, controls, combining marks, emoji, long texts) and an ASCII round trip. */
class ClipTokenizerPropertyTest {
    private static final ClipTokenizer TOKENIZER = ClipTokenizer.fromFolder(TokenizerTestFolders.vocabMergesLayout());

    @Property(tries = 200)
    void encodeGives77IdsWithBosEosAndConsistentMask(@ForAll("unicodeText") String text) {
        int[] ids = TOKENIZER.encode(text).inputIds();
        int[] mask = TOKENIZER.encode(text).attentionMask();
        assertEquals(77, ids.length);
        assertEquals(77, mask.length);
        for (int id : ids) assertTrue(id >= 0 && id < TOKENIZER.vocabSize(), "id " + id);
        assertEquals(TOKENIZER.bosId(), ids[0]);
        int real = 0;
        while (real < 77 && mask[real] == 1) real++;
        for (int i = real; i < 77; i++) assertEquals(0, mask[i], "mask must be ones then zeros");
        assertTrue(real >= 2);
        assertEquals(TOKENIZER.eosId(), ids[real - 1], "eos ends the content");
        for (int i = real; i < 77; i++) assertEquals(TOKENIZER.padId(), ids[i]);
        // Padded ids are the unpadded content truncated to 75.
        int[] content = TOKENIZER.contentIds(text);
        assertEquals(Math.min(content.length, 75) + 2, real);
        assertArrayEquals(Arrays.copyOf(content, real - 2), Arrays.copyOfRange(ids, 1, real - 1));
    }

    @Property(tries = 200)
    void asciiLettersAndSpacesRoundTrip(@ForAll("asciiWords") String text) {
        int[] ids = TOKENIZER.encodeUnpadded(text).inputIds();
        assertEquals(TOKENIZER.bosId(), ids[0]);
        assertEquals(TOKENIZER.eosId(), ids[ids.length - 1]);
        String normalised = String.join(" ", text.strip().toLowerCase(Locale.ROOT).split("\\s+"));
        assertEquals(normalised, TOKENIZER.decode(Arrays.copyOfRange(ids, 1, ids.length - 1)));
    }

    @Provide
    Arbitrary<String> unicodeText() {
        Arbitrary<Integer> anyCodePoint = Arbitraries.integers().between(0, 0x10FFFF)
                .filter(cp -> cp < 0xD800 || cp > 0xDFFF);
        Arbitrary<Integer> special = Arbitraries.of(0x0, 0x7, 0x1B, 0x7F, 0x85, 0x200B, 0x200D, 0xFEFF, 0x0301, 0x0308, 0x20DD,
                0x1F600, 0x1F469, 0x1F3FD, 0xFE0F, 0x3000, 0xA0, 0x2028, 0x10FFFF, 0xE000, 0xD55C, 0x6771, (int) ' ', (int) 'a', (int) '<');
        Arbitrary<String> cps = Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(1, anyCodePoint), net.jqwik.api.Tuple.of(2, special))
                .list().ofMaxSize(120).map(l -> new String(l.stream().mapToInt(Integer::intValue).toArray(), 0, l.size()));
        Arbitrary<String> longText = cps.map(s -> s.repeat(40));
        Arbitrary<String> withSpecials = cps.map(s -> s + "<|endoftext|>" + s + "<|startoftext|>");
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(8, cps), net.jqwik.api.Tuple.of(1, longText),
                net.jqwik.api.Tuple.of(1, withSpecials));
    }

    @Provide
    Arbitrary<String> asciiWords() {
        return Arbitraries.strings().withCharRange('a', 'z').withCharRange('A', 'Z').withChars(' ', ' ', ' ')
                .ofMaxLength(60);
    }
}
