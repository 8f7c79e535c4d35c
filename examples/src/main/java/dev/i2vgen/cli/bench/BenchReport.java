package dev.i2vgen.cli.bench;

import dev.i2vgen.io.AtomicFiles;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The benchmark's results: a table for people and a JSON file for tools, from the same rows. */
public final class BenchReport {
    private final ObjectMapper mapper = new ObjectMapper();
    private final ObjectNode header = mapper.createObjectNode();
    private final List<BenchRow> rows = new ArrayList<>();
    private final String anchorGpu;

    /** A report whose diffusers column was measured on an H100 (I2VGen-XL's anchor). */
    public BenchReport() { this("H100"); }

    /** @param anchorGpu the GPU kind diffusers' figures were measured on, named in the table and the JSON ("H100", "H200") */
    public BenchReport(String anchorGpu) { this.anchorGpu = anchorGpu; }

    /** Run facts (device, dtype, warm-up, ...) that go into the JSON before the rows. */
    public ObjectNode header() { return header; }

    public void add(BenchRow row) { rows.add(row); }

    public List<BenchRow> rows() { return List.copyOf(rows); }

    public void printTable(PrintWriter out) {
        String fmt = "%-28s %-34s %12s %14s %9s %10s %5s%n";
        out.printf(fmt, "stage", "what", "this", "diffusers " + anchorGpu, "speed-up", "target", "met");
        for (BenchRow r : rows) {
            out.printf(fmt, r.key(), r.what(), number(r.value(), r.unit()), number(r.diffusers(), r.unit()),
                    r.ratio() == null ? "-" : String.format(Locale.ROOT, "%.2fx", r.ratio()),
                    r.target() == null ? "-" : "<= " + number(r.target(), r.unit()),
                    r.meetsTarget() == null ? "-" : r.meetsTarget() ? "yes" : "no");
        }
        out.flush();
    }

    private static String number(Double v, String unit) {
        return v == null ? "n/a" : String.format(Locale.ROOT, "%.4f %s", v, unit);
    }

    public ObjectNode toJson() {
        ObjectNode root = header.deepCopy();
        root.put("diffusers_gpu", anchorGpu);
        ObjectNode stages = root.putObject("stages");
        for (BenchRow r : rows) {
            ObjectNode s = stages.putObject(r.key());
            s.put("what", r.what()).put("unit", r.unit());
            putNumber(s, "value", r.value());
            putNumber(s, "diffusers", r.diffusers());
            putNumber(s, "speedup_vs_diffusers", r.ratio());
            putNumber(s, "target", r.target());
            if (r.meetsTarget() == null) s.putNull("meets_target"); else s.put("meets_target", r.meetsTarget());
        }
        return root;
    }

    private static void putNumber(ObjectNode n, String key, Double v) {
        if (v == null) n.putNull(key); else n.put(key, v);
    }

    /** Writes the JSON to a temporary file beside {@code file}, then renames it: readers never see half a file. */
    public void writeJson(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            AtomicFiles.writeFile(file, tmp -> mapper.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), toJson()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the benchmark JSON " + file, e);
        }
    }
}
