package dev.i2vgen.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;

/**
 * Text for error messages, which are one line: names read from files (JSON keys, tensor names, tokens) may hold
 * line breaks and other control characters, and a caught library exception's message may span lines (Jackson's adds
 * the location and a source excerpt on lines of their own) or be missing.
 */
public final class MessageText {
    private MessageText() {}

    /** {@code text} with control characters escaped as in Java source ({@code \n}, {@code \t}, {@code \u0000}). */
    public static String oneLine(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isISOControl(c)) {
                if (out != null) out.append(c);
                continue;
            }
            if (out == null) out = new StringBuilder(text.length() + 16).append(text, 0, i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> out.append(String.format("\\u%04x", (int) c));
            }
        }
        return out == null ? text : out.toString();
    }

    /** What went wrong, from a caught exception: its message without Jackson's excerpt, or its type when it has none. */
    public static String reason(Throwable e) {
        String text;
        if (e instanceof JacksonException j) {
            text = j.getOriginalMessage();
            JsonLocation at = j.getLocation();
            if (text != null && at != null && at.getLineNr() > 0) text += " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
        } else {
            text = e.getMessage();
        }
        return text == null || text.isBlank() ? e.getClass().getSimpleName() : text.strip();
    }
}
