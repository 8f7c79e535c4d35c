package dev.i2vgen.io.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Text normalisation and pre-tokenisation (spec §1.3 steps B–D): turns a piece of prompt text that contains no
 * literal special token into the list of words that BPE encodes, each word already written in byte symbols.
 */
final class ClipPreTokenizer {
    static final String START_OF_TEXT = "<|startoftext|>";
    static final String END_OF_TEXT = "<|endoftext|>";

    /** CLIP's word pattern: special tokens, English contractions, letter runs, single digits, symbol runs. */
    private static final String CLIP_WORDS =
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
    // UNICODE_CHARACTER_CLASS makes \s the Unicode White_Space property, as in Oniguruma / Python's regex.
    private static final Pattern FAST_WORDS = Pattern.compile(CLIP_WORDS, Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern SLOW_WORDS = Pattern.compile(CLIP_WORDS,
            Pattern.UNICODE_CHARACTER_CLASS | Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE);
    /**
     * The byte-level pre-tokenizer's own GPT-2 split, which the fast tokenizer applies to every CLIP word.
     * It only changes anything for words mixing symbols and letters, i.e. a lower-cased literal special token.
     */
    private static final Pattern BYTE_LEVEL_WORDS = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private final TokenizerFlavor flavor;

    ClipPreTokenizer(TokenizerFlavor flavor) { this.flavor = flavor; }

    /** A word ready for BPE; {@code literal} marks a special-token text that the slow tokenizer keeps whole. */
    record Word(String symbols, boolean literal) {}

    List<Word> words(String text) {
        List<Word> out = new ArrayList<>();
        if (flavor == TokenizerFlavor.FAST) {
            Matcher clip = FAST_WORDS.matcher(normalizeFast(text));
            while (clip.find()) {
                Matcher byteLevel = BYTE_LEVEL_WORDS.matcher(clip.group());
                while (byteLevel.find()) out.add(new Word(ByteSymbolTable.encode(byteLevel.group()), false));
            }
        } else {
            Matcher clip = SLOW_WORDS.matcher(normalizeSlow(text));
            while (clip.find()) {
                String word = clip.group();
                boolean literal = word.equals(START_OF_TEXT) || word.equals(END_OF_TEXT);
                out.add(new Word(literal ? word : ByteSymbolTable.encode(word), literal));
            }
        }
        return out;
    }

    /** Fast normaliser: NFC, every run of White_Space → one space, then per-character full lower-casing. */
    static String normalizeFast(String text) {
        String nfc = Normalizer.normalize(text, Normalizer.Form.NFC);
        StringBuilder sb = new StringBuilder(nfc.length());
        boolean inSpace = false;
        for (int i = 0; i < nfc.length(); ) {
            int cp = nfc.codePointAt(i);
            i += Character.charCount(cp);
            if (isUnicodeWhiteSpace(cp)) {
                if (!inSpace) sb.append(' ');
                inSpace = true;
            } else {
                inSpace = false;
                appendLowerCase(sb, cp);
            }
        }
        return sb.toString();
    }

    /**
     * Lower-cases one character on its own (no final-sigma context, like Rust's {@code char::to_lowercase});
     * a one-character string still gets the full mapping, e.g. 'İ' → "i̇".
     */
    private static void appendLowerCase(StringBuilder sb, int cp) {
        if (cp < 0x80) {
            sb.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
        } else {
            sb.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
        }
    }

    /** The slow tokenizer's basic cleaning without ftfy (spec §1.3 step B, items 1–7). */
    static String normalizeSlow(String text) {
        StringBuilder cleaned = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0 || cp == 0xFFFD || isSlowControl(cp)) continue;
            if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR) {
                cleaned.append(' ');
            } else if (isHanIdeograph(cp)) {
                cleaned.append(' ').appendCodePoint(cp).append(' ');
            } else {
                cleaned.appendCodePoint(cp);
            }
        }
        String nfc = Normalizer.normalize(cleaned, Normalizer.Form.NFC);
        StringBuilder joined = new StringBuilder(nfc.length());
        int start = -1;
        for (int i = 0; i <= nfc.length(); ) {
            int cp = i < nfc.length() ? nfc.codePointAt(i) : ' ';
            boolean space = i >= nfc.length() || isPythonWhiteSpace(cp);
            if (space && start >= 0) {
                if (!joined.isEmpty()) joined.append(' ');
                // Python's str.lower() on the word: full mapping with final-sigma context.
                joined.append(nfc.substring(start, i).toLowerCase(Locale.ROOT));
                start = -1;
            } else if (!space && start < 0) {
                start = i;
            }
            i += i < nfc.length() ? Character.charCount(cp) : 1;
        }
        return joined.toString();
    }

    /** Unicode White_Space property (what {@code \s} means in Oniguruma and Rust). */
    static boolean isUnicodeWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    /** Python's {@code str.isspace()}: White_Space plus the information separators U+001C–001F. */
    private static boolean isPythonWhiteSpace(int cp) {
        return isUnicodeWhiteSpace(cp) || (cp >= 0x1C && cp <= 0x1F);
    }

    /** Any general category C* except TAB, LF, CR. */
    private static boolean isSlowControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int type = Character.getType(cp);
        return type == Character.CONTROL || type == Character.FORMAT || type == Character.UNASSIGNED
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    /** The CJK ranges BERT-style cleaning isolates (Han ideographs only; kana and Hangul are left alone). */
    private static boolean isHanIdeograph(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
