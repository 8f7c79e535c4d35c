package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import dev.i2vgen.io.MessageText;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * The JSON machinery every scheduler config record shares: reading a file, checking and writing the training-noise
 * keys (num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas), locating errors, and applying
 * user overrides.
 *
 * <p>The records' {@code equals} and {@code hashCode} compare their {@code toJson()}: it holds every component,
 * trained_betas by content (a record's own equals compares the array by identity) and doubles as
 * {@link Double#compare} does, so no record lists its components a second time.
 */
final class SchedulerConfigJson {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private SchedulerConfigJson() {}

    /** Reads {@code schedulerConfigJson} with {@code mapper} and parses it, naming the file in errors. */
    static <C> C read(ObjectMapper mapper, Path schedulerConfigJson, BiFunction<JsonNode, String, C> fromJson) {
        return fromJson.apply(readTree(mapper, schedulerConfigJson), schedulerConfigJson.toString());
    }

    /** The file's JSON; one line naming the file and why when it cannot be read or parsed. */
    static JsonNode readTree(ObjectMapper mapper, Path schedulerConfigJson) {
        try {
            return mapper.readTree(Files.readAllBytes(schedulerConfigJson));
        } catch (JacksonException e) {
            throw new IllegalArgumentException(schedulerConfigJson + ": is not valid JSON: " + MessageText.reason(e), e);
        } catch (IOException e) {
            throw new UncheckedIOException(schedulerConfigJson + ": cannot read: " + MessageText.reason(e), e);
        }
    }

    /** {@code e} prefixed with {@code source} (unless it already is), for a config record's constructor error. */
    static RuntimeException located(String source, RuntimeException e) {
        if (e.getMessage() != null && e.getMessage().startsWith(source + ": ")) return e;
        return new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }

    /** Checks num_train_timesteps and trained_betas; returns a copy of the betas (or null). */
    static double[] checkedTrainedBetas(int numTrainTimesteps, double[] trainedBetas) {
        if (numTrainTimesteps < 1) throw new IllegalArgumentException("num_train_timesteps must be ≥ 1, got " + numTrainTimesteps);
        if (trainedBetas == null) return null;
        if (trainedBetas.length != numTrainTimesteps) throw new IllegalArgumentException("trained_betas has "
                + trainedBetas.length + " values but num_train_timesteps is " + numTrainTimesteps);
        return trainedBetas.clone();
    }

    /** A new JSON object holding the training-noise keys, in diffusers' order. */
    static ObjectNode trainingJson(int numTrainTimesteps, double betaStart, double betaEnd, String betaSchedule,
                                   double[] trainedBetas) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("num_train_timesteps", numTrainTimesteps);
        o.put("beta_start", betaStart);
        o.put("beta_end", betaEnd);
        o.put("beta_schedule", betaSchedule);
        if (trainedBetas == null) o.putNull("trained_betas");
        else o.set("trained_betas", MAPPER.valueToTree(trainedBetas));
        return o;
    }

    /**
     * What every config record's {@code withOverrides(overrides, source)} does: {@code json} (the config's
     * {@code toJson()}) with some keys replaced (diffusers' names), parsed again by {@code fromJson}, so an override is
     * checked by the same typed parsing as a config file. A value may be a Java value (Number, Boolean, String, null,
     * a list or array of numbers) or, as typed on a command line ({@code key=value}), a String holding a JSON literal
     * ({@code true}, {@code 0.002}, {@code null}, {@code [0, 1]}, and {@code -Infinity} where {@code mapper} allows
     * non-numeric numbers, as DPMSolverMultistepConfig's does); any other String is taken as text ({@code trailing},
     * {@code sde-dpmsolver++}). Unknown keys are an error naming {@code schedulerName}: a user override is most
     * likely a typo.
     *
     * @param source named in errors ("scheduler overrides", "--scheduler")
     */
    static <C> C withOverrides(ObjectNode json, Map<String, ?> overrides, String source, List<String> keys,
                               String schedulerName, ObjectMapper mapper, BiFunction<JsonNode, String, C> fromJson) {
        for (Map.Entry<String, ?> e : overrides.entrySet()) {
            if (!keys.contains(e.getKey())) throw new IllegalArgumentException(source + ": unknown " + schedulerName
                    + " option '" + e.getKey() + "' (expected one of " + String.join(", ", keys) + ")");
            json.set(e.getKey(), overrideValue(mapper, e.getValue()));
        }
        return fromJson.apply(json, source);
    }

    private static JsonNode overrideValue(ObjectMapper mapper, Object value) {
        if (value == null) return NullNode.getInstance();
        if (!(value instanceof String text)) return mapper.valueToTree(value);
        try {
            JsonNode literal = mapper.readTree(text);
            if (literal != null && (literal.isValueNode() || literal.isArray())) return literal;
        } catch (IOException notJson) {
            // plain text such as "leading"
        }
        return TextNode.valueOf(text);
    }
}
