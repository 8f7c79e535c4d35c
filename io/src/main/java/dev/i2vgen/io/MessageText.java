package dev.i2vgen.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Text for error messages, which are one line: names read from files (JSON keys, tensor names, tokens) may hold
 * line breaks and other control characters, and a caught exception's message may span lines (Jackson's adds the
 * location and a source excerpt on lines of their own), be missing, or say nothing of the reason (the JDK's file
 * exceptions often give only the path, "Input length = 1" for bad UTF-8, or a wrapper's generic text with the
 * operating system's reason in a cause).
 */
public final class MessageText {
    /** The "(reason)" RandomAccessFile and FileInputStream append to the path. */
    private static final Pattern PARENTHESISED_REASON = Pattern.compile(".*\\(([^()]+)\\)\\s*$");
    /** Jackson's location inside a message ("start marker at [Source: REDACTED (...); line: 1, column: 1]"). */
    private static final Pattern JACKSON_LOCATION = Pattern.compile("\\[Source: .*?; line: (\\d+), column: (\\d+)]");

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

    /**
     * Why {@code e} happened, in one line, for a message that names the file or value itself: a parse error as what
     * Jackson found and where ("Invalid UTF-8 start byte 0xff (line 1, column 3)"); a file operation's failure from
     * the innermost I/O exception that caused it, in words ("permission denied", "symbolic link loop", "No space left
     * on device (the disk is full)"); otherwise the message, or the type where there is none.
     */
    public static String reason(Throwable e) {
        String text = switch (e) {
            case JacksonException j -> jackson(j);
            case IOException io -> ioReason(io);
            default -> e.getMessage();
        };
        return text == null || text.isBlank() ? e.getClass().getSimpleName() : oneLine(text.strip());
    }

    private static String jackson(JacksonException e) {
        String text = e.getOriginalMessage();
        if (text == null) return null;
        text = JACKSON_LOCATION.matcher(text).replaceAll("line $1, column $2");
        JsonLocation at = e.getLocation();
        return at != null && at.getLineNr() > 0 ? text + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")" : text;
    }

    /** The reason of the innermost I/O exception in {@code e}'s causes that gives one (a bare EOFException does not). */
    private static String ioReason(IOException e) {
        java.util.List<IOException> chain = new java.util.ArrayList<>(java.util.List.of(e));
        for (Throwable t = e.getCause(); t != null && t != t.getCause() && chain.size() < 32; t = t.getCause()) {
            if (t instanceof IOException io) chain.add(io);
        }
        for (IOException io : chain.reversed()) {
            String text = io(io);
            if (text != null && !text.isBlank()) return text;
        }
        return null;
    }

    private static String io(IOException e) {
        if (e instanceof JacksonException j) return jackson(j);
        String text = switch (e) {
            case AccessDeniedException _ -> "permission denied";
            case NoSuchFileException _ -> "no such file or folder";
            case FileSystemLoopException _ -> "symbolic link loop";
            case NotDirectoryException _ -> "not a folder";
            case CharacterCodingException _ when e.getMessage() == null || e.getMessage().startsWith("Input length") ->
                    "not valid UTF-8";
            case FileSystemException f when f.getReason() != null -> f.getReason();
            case FileNotFoundException f when f.getMessage() != null -> parenthesised(f.getMessage());
            default -> e.getMessage();
        };
        return text != null && text.toLowerCase(Locale.ROOT).contains("no space left") ? text + " (the disk is full)" : text;
    }

    private static String parenthesised(String message) {
        Matcher m = PARENTHESISED_REASON.matcher(message);
        return m.matches() ? m.group(1) : message;
    }
}
