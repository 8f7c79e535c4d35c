package dev.i2vgen.spark;

import dev.i2vgen.io.AtomicFiles;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** {@code results.csv}: RFC 4180 (a header line, fields quoted where needed, CRLF), written atomically. */
final class ResultsCsv {
    private ResultsCsv() {}

    /** Writes the header and lines; null is an empty field, a double has millisecond precision. */
    static void write(Path file, List<String> header, List<List<Object>> lines) throws IOException {
        AtomicFiles.writeFile(file, tmp -> {
            try (BufferedWriter w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                writeLine(w, List.copyOf(header));
                for (List<Object> line : lines) writeLine(w, line);
            }
        });
    }

    private static void writeLine(BufferedWriter w, List<?> fields) throws IOException {
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) w.write(',');
            w.write(field(fields.get(i)));
        }
        w.write("\r\n");
    }

    static String field(Object value) {
        if (value == null) return "";
        String text = value instanceof Double d ? String.format(Locale.ROOT, "%.3f", d) : value.toString();
        boolean quote = text.indexOf(',') >= 0 || text.indexOf('"') >= 0 || text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0
                || (!text.isEmpty() && (Character.isWhitespace(text.charAt(0)) || Character.isWhitespace(text.charAt(text.length() - 1))));
        return quote ? '"' + text.replace("\"", "\"\"") + '"' : text;
    }
}
