package dev.i2vgen.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads a text file that must be UTF-8, saying where it is not (the JDK says only "Input length = 1"). */
public final class Utf8Text {
    private Utf8Text() {}

    /** Bytes that are not UTF-8: the message gives the first bad byte, its offset and its line. */
    public static final class InvalidUtf8Exception extends CharacterCodingException {
        private final String message;

        InvalidUtf8Exception(String message) { this.message = message; }

        @Override
        public String getMessage() { return message; }
    }

    /** The whole file as text; throws {@link InvalidUtf8Exception} at the first byte sequence that is not UTF-8. */
    public static String read(Path file) throws IOException {
        return decode(Files.readAllBytes(file));
    }

    /** {@code bytes} as UTF-8 text, or {@link InvalidUtf8Exception} naming where it is not. */
    public static String decode(byte[] bytes) throws InvalidUtf8Exception {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) result = decoder.flush(out);
        if (result.isError()) throw invalidAt(bytes, in.position());
        return out.flip().toString();
    }

    private static InvalidUtf8Exception invalidAt(byte[] bytes, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) if (bytes[i] == '\n') line++;
        return new InvalidUtf8Exception(String.format("not valid UTF-8: byte 0x%02X at offset %d (line %d)",
                bytes[offset] & 0xFF, offset, line));
    }
}
