package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.GenerationOptions;
import dev.i2vgen.cli.GenerationParameters;
import dev.i2vgen.cli.ModelCheckpoint;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code GET /v1/models}: the model this server runs and the form fields its jobs take (those of its model family,
 * from the command line's option definitions), each with its type, its default for this model and its description, so
 * that the web page shows the right fields (a prompt for I2VGen-XL, motion and noise for SVD).
 */
final class ModelDescription {
    /** Fields the page tucks away under "Advanced". */
    private static final Set<String> ADVANCED = Set.of("eta", "decode-chunk", "scheduler", "noise-aug-strength", "i4vgen",
            "ni-vsds-fraction", "ni-vsds-step-sizes", "regeneration-strength");

    private ModelDescription() {}

    static Map<String, Object> of(ModelCheckpoint checkpoint, String device, String dtype, JobLimits limits) {
        boolean svd = checkpoint.pipelineClass().equals("StableVideoDiffusionPipeline");
        CommandLine cl = new CommandLine(new JobOptions());
        boolean needsPrompt = !svd && !checkpoint.demo();
        if (needsPrompt) cl.parseArgs("--prompt=");   // validation requires one; the defaults of the others do not depend on it
        GenerationParameters defaults = ((JobOptions) cl.getCommand()).options.validate(checkpoint.demo() ? null : checkpoint.dir(),
                checkpoint.pipelineClass(), cl);
        Map<String, Object> defaultValues = defaults.byOptionName();
        defaultValues.put("frames", checkpoint.frames(defaults));
        defaultValues.put("seed", null);   // random unless given
        if (needsPrompt) defaultValues.put("prompt", null);

        List<Map<String, Object>> fields = new ArrayList<>();
        fields.add(field("image", "file", null, "the input image (PNG, JPEG, BMP, GIF)" + (checkpoint.demo() ? "; default: the demo's" : ""),
                !checkpoint.demo(), false));
        for (CommandLine.Model.OptionSpec o : cl.getCommandSpec().options()) {
            String option = o.longestName();
            if ((svd ? GenerationOptions.I2VGEN_XL_ONLY : GenerationOptions.SVD_ONLY).contains(option)) continue;
            String name = option.substring(2);
            boolean required = name.equals("prompt") && needsPrompt;
            fields.add(field(name, type(o), defaultValues.get(name), String.join(" ", o.description()), required, ADVANCED.contains(name)));
        }

        Map<String, Object> model = new LinkedHashMap<>();
        model.put("id", checkpoint.demo() ? "demo" : String.valueOf(checkpoint.dir().getFileName()));
        model.put("pipeline", checkpoint.pipelineClass());
        model.put("family", svd ? "Stable Video Diffusion" : "I2VGen-XL");
        model.put("demo", checkpoint.demo());
        model.put("device", device);
        model.put("dtype", dtype);
        model.put("fields", fields);
        model.put("limits", Map.of("max_upload_bytes", limits.maxUploadBytes(), "max_pixels", limits.maxPixels(),
                "max_frames", limits.maxFrames(), "max_steps", limits.maxSteps()));
        return Map.of("object", "list", "data", List.of(model));
    }

    private static Map<String, Object> field(String name, String type, Object defaultValue, String description, boolean required,
                                             boolean advanced) {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("name", name);
        f.put("type", type);
        f.put("default", defaultValue);
        f.put("required", required);
        f.put("advanced", advanced);
        f.put("description", description);
        return f;
    }

    /** integer, number, boolean or text (the seed is text: it goes up to 2^64 − 1, past what JSON numbers keep exact). */
    private static String type(CommandLine.Model.OptionSpec o) {
        Class<?> t = o.type();
        if (o.longestName().equals("--seed")) return "text";
        if (t == Integer.class || t == int.class) return "integer";
        if (t == Double.class || t == double.class) return "number";
        if (t == Boolean.class || t == boolean.class) return "boolean";
        return "text";
    }
}
