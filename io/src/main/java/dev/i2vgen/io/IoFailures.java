package dev.i2vgen.io;

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
 * Why a file operation failed, in words, for messages that name the file themselves. The JDK's own messages are
 * often only the path ({@link AccessDeniedException}, {@link NoSuchFileException}), "Input length = 1" (bad UTF-8)
 * or a wrapper's generic text ("I/O error writing PNG file!") with the operating system's reason in a cause.
 */
public final class IoFailures {
    /** The "(reason)" RandomAccessFile and FileInputStream append to the path. */
    private static final Pattern PARENTHESISED_REASON = Pattern.compile(".*\\(([^()]+)\\)\\s*$");

    private IoFailures() {}

    /** The reason of {@code e}, or of the innermost I/O exception that caused it. */
    public static String reason(IOException e) {
        IOException root = e;
        for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
            if (t instanceof IOException io) root = io;
        }
        return describe(root);
    }

    private static String describe(IOException e) {
        String text = switch (e) {
            case AccessDeniedException _ -> "permission denied";
            case NoSuchFileException _ -> "no such file or folder";
            case FileSystemLoopException _ -> "symbolic link loop";
            case NotDirectoryException _ -> "not a folder";
            case CharacterCodingException _ when e.getMessage() == null || e.getMessage().startsWith("Input length") ->
                    "not valid UTF-8";
            case FileSystemException f when f.getReason() != null -> f.getReason();
            case FileNotFoundException f when f.getMessage() != null -> parenthesised(f.getMessage());
            default -> e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
        };
        return text.toLowerCase(Locale.ROOT).contains("no space left") ? text + " (the disk is full)" : text;
    }

    private static String parenthesised(String message) {
        Matcher m = PARENTHESISED_REASON.matcher(message);
        return m.matches() ? m.group(1) : message;
    }
}
