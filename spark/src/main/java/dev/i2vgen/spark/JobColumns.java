package dev.i2vgen.spark;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What each column of a job list is: the image, prompt, negative prompt or seed (the columns the settings name), a
 * column named like one of {@code generate}'s long options ({@code steps}, {@code decode-chunk}, or with '_' for '-':
 * {@code decode_chunk}), which sets that option for its row, or other data, passed through to the output untouched.
 */
final class JobColumns implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The columns batch generation adds. */
    static final List<String> OUTPUT_COLUMNS = List.of("output_path", "status", "error", "seconds");

    private final String[] names;
    /** Per column: the generate option it sets, or null for data passed through. */
    private final String[] options;

    private JobColumns(String[] names, String[] options) {
        this.names = names;
        this.options = options;
    }

    /**
     * The roles of a job list's columns.
     *
     * @throws IllegalArgumentException naming the column: one that sets a job-level option (model, device, dtype,
     *                                  output), two columns for one option, a column named like an output column, or
     *                                  no image column while the settings give no default image
     */
    static JobColumns of(StructType schema, BatchSettings settings) {
        StructField[] fields = schema.fields();
        String[] names = new String[fields.length];
        String[] options = new String[fields.length];
        Map<String, String> columnOfOption = new LinkedHashMap<>();
        List<String> rowOptions = BatchSettings.rowOptionNames();
        for (int i = 0; i < fields.length; i++) {
            String name = fields[i].name();
            names[i] = name;
            if (OUTPUT_COLUMNS.contains(name) || name.equals(settings.deviceCol())) throw new IllegalArgumentException(
                    "column '" + name + "' is an output column of batch generation: rename or drop it");
            String option = optionOf(name, settings);
            if (BatchSettings.JOB_LEVEL_OPTIONS.contains(option) || BatchSettings.NOT_IN_BATCH.contains(option)) {
                BatchSettings.checkOptionName(option, "column '" + name + "': option");
            }
            if (!rowOptions.contains(option)) continue;
            String other = columnOfOption.put(option, name);
            if (other != null) throw new IllegalArgumentException("columns '" + other + "' and '" + name + "' both set --" + option);
            options[i] = option;
        }
        if (!columnOfOption.containsKey("image") && !settings.options().containsKey("image")) {
            throw new IllegalArgumentException("the job list has no column '" + settings.imageCol()
                    + "' (each row's input image) and there is no default --image; its columns are " + List.of(names));
        }
        return new JobColumns(names, options);
    }

    /** The column's option: the settings' image, prompt, negative prompt and seed columns, else its own name with '-' for '_'. */
    private static String optionOf(String column, BatchSettings s) {
        if (column.equals(s.imageCol())) return "image";
        if (column.equals(s.promptCol())) return "prompt";
        if (column.equals(s.negativePromptCol())) return "negative-prompt";
        if (column.equals(s.seedCol())) return "seed";
        return column.replace('_', '-');
    }

    /** The columns that set no option: data passed through (the command line refuses them as typing mistakes). */
    List<String> passedThrough() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < names.length; i++) if (options[i] == null) out.add(names[i]);
        return out;
    }

    /** Whether some column sets this option. */
    boolean sets(String option) {
        return Arrays.asList(options).contains(option);
    }

    /**
     * The row's options over the defaults: a column's value where it is not empty, else the default. A relative
     * image path of the row is resolved against {@code imageBase} when one is given.
     */
    Map<String, String> options(Row row, Map<String, String> defaults, String imageBase) {
        Map<String, String> merged = new LinkedHashMap<>(defaults);
        for (int i = 0; i < names.length; i++) {
            if (options[i] == null || row.isNullAt(i)) continue;
            String value = row.get(i).toString();
            if (value.isBlank()) continue;
            if (options[i].equals("image") && imageBase != null) value = Path.of(imageBase).resolve(value).toString();
            merged.put(options[i], value);
        }
        return merged;
    }
}
