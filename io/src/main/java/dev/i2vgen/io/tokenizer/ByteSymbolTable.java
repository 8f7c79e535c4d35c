package dev.i2vgen.io.tokenizer;

/**
 * The GPT-2/CLIP byte-level alphabet: a bijection from the 256 byte values to 256 printable code points,
 * so that any UTF-8 text becomes a string of visible symbols that BPE can work on (spec §1.1).
 * Printable bytes (0x21–0x7E, 0xA1–0xAC, 0xAE–0xFF) keep their own code point; the other 68 bytes,
 * in increasing order, take U+0100, U+0101, … (so space 0x20 → 'Ġ').
 */
final class ByteSymbolTable {
    private static final char[] BYTE_TO_SYMBOL = new char[256];
    private static final int[] SYMBOL_TO_BYTE = new int[0x144];

    static {
        java.util.Arrays.fill(SYMBOL_TO_BYTE, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            char symbol = isPrintable(b) ? (char) b : (char) next++;
            BYTE_TO_SYMBOL[b] = symbol;
            SYMBOL_TO_BYTE[symbol] = b;
        }
    }

    private ByteSymbolTable() {}

    static boolean isPrintable(int b) {
        return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    static char symbol(int unsignedByte) { return BYTE_TO_SYMBOL[unsignedByte]; }

    /** The byte a symbol stands for, or -1 when the character is not part of the alphabet. */
    static int byteOf(char symbol) { return symbol < SYMBOL_TO_BYTE.length ? SYMBOL_TO_BYTE[symbol] : -1; }

    /** The byte symbols of the UTF-8 encoding of {@code text}, one char per byte. */
    static String encode(String text) {
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = BYTE_TO_SYMBOL[utf8[i] & 0xFF];
        return new String(out);
    }

    /**
     * Bytes of a symbol string; characters outside the alphabet (e.g. in added tokens) contribute their own
     * UTF-8 bytes, as the byte-level decoder of the tokenizers library does.
     */
    static void decodeInto(String symbols, java.io.ByteArrayOutputStream out) {
        for (int i = 0; i < symbols.length(); ) {
            int cp = symbols.codePointAt(i);
            int b = cp < SYMBOL_TO_BYTE.length ? SYMBOL_TO_BYTE[cp] : -1;
            if (b >= 0) {
                out.write(b);
            } else {
                out.writeBytes(new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            i += Character.charCount(cp);
        }
    }
}
