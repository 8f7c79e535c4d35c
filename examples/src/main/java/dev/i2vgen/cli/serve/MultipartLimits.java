package dev.i2vgen.cli.serve;

import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.Part;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a multipart form whose size Jetty bounds ({@code maxFileSize}, {@code maxRequestSize}, set by
 * {@link VideoServer}): a form over them (one sent without a Content-Length, which is checked first) is a 413, any other
 * malformed form a 400. Text fields are read as UTF-8, file parts are left to be read once.
 */
final class MultipartLimits {
    /** The longest text field read (a prompt is cut to 77 tokens anyway). */
    private static final int MAX_FIELD_BYTES = 64 << 10;

    /** The form's text fields and its files, each in the order sent. */
    record Form(Map<String, List<String>> fields, Map<String, List<UploadedFile>> files) {}

    private MultipartLimits() {}

    static Form read(Context ctx, JobLimits limits) {
        try {
            Map<String, List<UploadedFile>> files = ctx.uploadedFileMap();   // parses the parts with Javalin's multipart config
            Map<String, List<String>> fields = new LinkedHashMap<>();
            for (Part part : ctx.req().getParts()) {
                if (part.getSubmittedFileName() != null) continue;
                fields.computeIfAbsent(part.getName(), k -> new ArrayList<>()).add(text(part));
            }
            return new Form(fields, files);
        } catch (ApiError e) {
            throw e;
        } catch (IOException | ServletException | RuntimeException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
                if (m.contains("exceed") || m.contains("too large")) {   // Jetty 12: "max length exceeded: N", "... exceeds max ..."
                    throw new ApiError(413, "the upload is larger than the " + limits.maxUploadBytes()
                            + " bytes this server takes (i2vgen serve --max-upload)");
                }
                if (t.getCause() == t) break;
            }
            throw new ApiError(400, "cannot read the multipart form: " + e.getMessage());
        }
    }

    private static String text(Part part) throws IOException {
        try (InputStream in = part.getInputStream()) {
            byte[] bytes = in.readNBytes(MAX_FIELD_BYTES + 1);
            if (bytes.length > MAX_FIELD_BYTES) {
                throw new ApiError(400, "the form field '" + part.getName() + "' is longer than " + MAX_FIELD_BYTES + " bytes");
            }
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }
}
