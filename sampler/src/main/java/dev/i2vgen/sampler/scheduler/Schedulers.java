package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The schedulers by diffusers class name: {@link #create} is diffusers'
 * {@code XScheduler.from_config(base_config, **overrides)}, as in
 * {@code pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, use_karras_sigmas=True)}.
 * The base config may be any scheduler's {@code scheduler_config.json}: keys the class does not have are ignored and
 * keys it has but the file lacks take the class's defaults. Overrides, unlike diffusers' unused kwargs, must be keys
 * of the class (a typo is an error listing them).
 */
public final class Schedulers {

    private static final List<SchedulerClass<?>> CLASSES = List.of(
            new SchedulerClass<>("DDIMScheduler", DdimConfig.KEYS, DdimConfig::defaults, DdimConfig::fromJson,
                    DdimConfig::withOverrides, DdimConfig::toJson, c -> new DdimScheduler(c).asScheduler()),
            new SchedulerClass<>("DDPMScheduler", DdpmConfig.KEYS, DdpmConfig::defaults, DdpmConfig::fromJson,
                    DdpmConfig::withOverrides, DdpmConfig::toJson, DdpmScheduler::new),
            new SchedulerClass<>("EulerDiscreteScheduler", EulerDiscreteConfig.KEYS, EulerDiscreteConfig::defaults,
                    EulerDiscreteConfig::fromJson, EulerDiscreteConfig::withOverrides, EulerDiscreteConfig::toJson,
                    c -> new EulerDiscreteScheduler(c).asScheduler()),
            new SchedulerClass<>("EulerAncestralDiscreteScheduler", EulerAncestralDiscreteConfig.KEYS,
                    EulerAncestralDiscreteConfig::defaults, EulerAncestralDiscreteConfig::fromJson,
                    EulerAncestralDiscreteConfig::withOverrides, EulerAncestralDiscreteConfig::toJson,
                    EulerAncestralDiscreteScheduler::new),
            new SchedulerClass<>("DPMSolverMultistepScheduler", DpmSolverMultistepConfig.KEYS,
                    DpmSolverMultistepConfig::defaults, DpmSolverMultistepConfig::fromJson,
                    DpmSolverMultistepConfig::withOverrides, DpmSolverMultistepConfig::toJson,
                    DpmSolverMultistepScheduler::new),
            new SchedulerClass<>("UniPCMultistepScheduler", UniPcMultistepConfig.KEYS, UniPcMultistepConfig::defaults,
                    UniPcMultistepConfig::fromJson, UniPcMultistepConfig::withOverrides, UniPcMultistepConfig::toJson,
                    UniPcMultistepScheduler::new),
            new SchedulerClass<>("LCMScheduler", LcmConfig.KEYS, LcmConfig::defaults, LcmConfig::fromJson,
                    LcmConfig::withOverrides, LcmConfig::toJson, LcmScheduler::new));

    /** The diffusers class names that {@link #create} accepts, in a fixed order (that of {@link #describe}). */
    public static final List<String> CLASS_NAMES = CLASSES.stream().map(SchedulerClass::name).toList();

    /**
     * The other members of diffusers' KarrasDiffusionSchedulers, the {@code _compatibles} of the I2VGen-XL and SVD
     * UNets' pipelines: a user swapping schedulers is likely to ask for one of these, so they get their own message.
     */
    private static final Set<String> NOT_PORTED = Set.of("PNDMScheduler", "LMSDiscreteScheduler",
            "HeunDiscreteScheduler", "DPMSolverSinglestepScheduler", "KDPM2DiscreteScheduler",
            "KDPM2AncestralDiscreteScheduler", "DEISMultistepScheduler", "DPMSolverSDEScheduler", "EDMEulerScheduler");

    /** Python writes DPMSolver's lambda_min_clipped default as the bare literal -Infinity. */
    private static final JsonMapper MAPPER = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private Schedulers() {}

    /**
     * diffusers' {@code from_config}: {@code className}'s scheduler configured by {@code baseConfig} (any scheduler's
     * config JSON), then {@code overrides} (diffusers' key names; values as {@code withOverrides} of the class's config
     * takes them: Java values, or text holding a JSON literal or a plain string).
     *
     * @param source named in errors about {@code baseConfig} (usually its file)
     * @throws IllegalArgumentException for a class name not in {@link #CLASS_NAMES}, a wrong value in the base config
     *                                  (naming {@code source} and the key), an override key the class lacks (listing
     *                                  its keys) or a wrong override value (naming the key)
     */
    public static Scheduler create(String className, JsonNode baseConfig, String source, Map<String, ?> overrides) {
        return schedulerClass(className).create(baseConfig, source, overrides, className + " overrides");
    }

    /**
     * The config record {@link #create} builds its scheduler from ({@link DdimConfig}, {@link EulerDiscreteConfig},
     * … by {@code className}), with the same checks.
     */
    public static Record config(String className, JsonNode baseConfig, String source, Map<String, ?> overrides) {
        return schedulerClass(className).config(baseConfig, source, overrides, className + " overrides");
    }

    /** The scheduler that a {@code scheduler_config.json} describes: the class its {@code _class_name} names. */
    public static Scheduler fromConfigFile(Path schedulerConfigJson) {
        return create(schedulerConfigJson, null);
    }

    /**
     * The scheduler {@code spec} asks for, configured from {@code schedulerConfigJson} as diffusers'
     * {@code from_config} does; with a null spec, the file's own class ({@code _class_name}) unchanged.
     *
     * @throws IllegalArgumentException naming the file when it has no {@code _class_name} (without a spec) or names
     *                                  a class not in {@link #CLASS_NAMES}, and as {@link #create}, the spec's
     *                                  override errors naming the spec
     */
    public static Scheduler create(Path schedulerConfigJson, SchedulerSpec spec) {
        return create(readJson(schedulerConfigJson), schedulerConfigJson.toString(), spec);
    }

    /** {@link #create(Path, SchedulerSpec)} for a config already read; {@code source} is named in errors. */
    public static Scheduler create(JsonNode json, String source, SchedulerSpec spec) {
        if (json == null || !json.isObject()) throw new IllegalArgumentException(source + ": expected a JSON object");
        if (spec != null) return schedulerClass(spec.className()).create(json, source, spec.overrides(),
                "scheduler '" + spec + "'");
        JsonNode name = json.get("_class_name");
        if (name == null || !name.isTextual()) throw new IllegalArgumentException(source + ": '_class_name' must name"
                + " the scheduler class, one of " + String.join(", ", CLASS_NAMES) + "; got " + name);
        SchedulerClass<?> c;
        try {
            c = schedulerClass(name.textValue());
        } catch (IllegalArgumentException e) {
            throw SchedulerConfigJson.located(source, e);
        }
        return c.create(json, source, Map.of(), source);
    }

    /**
     * Checks what can be checked of {@code spec} without a checkpoint: the class is supported, and each override is
     * one of its keys with a value of the right type (on the class's defaults).
     */
    public static void check(SchedulerSpec spec) {
        schedulerClass(spec.className()).create(MAPPER.createObjectNode(), "defaults", spec.overrides(), "scheduler '" + spec + "'");
    }

    /** A scheduler config file as JSON (Python's -Infinity allowed), naming the file when it cannot be read. */
    static JsonNode readJson(Path schedulerConfigJson) {
        return SchedulerConfigJson.readTree(MAPPER, schedulerConfigJson);
    }

    /** {@code className}'s config keys in diffusers' order, with their defaults and help, for a listing. */
    public static List<SchedulerOption> options(String className) {
        SchedulerClass<?> c = schedulerClass(className);
        ObjectNode defaults = c.defaultsJson();
        List<SchedulerOption> out = new ArrayList<>(c.keys().size());
        for (String key : c.keys()) {
            out.add(new SchedulerOption(key, jsonText(defaults.get(key)),
                    SchedulerOptionDescriptions.of(className, key)));
        }
        return out;
    }

    /** Every class of {@link #CLASS_NAMES} with its options as a plain-text table (key, default, help). */
    public static String describe() {
        int keyWidth = "option".length();
        int defaultWidth = "default".length();
        for (String name : CLASS_NAMES) {
            for (SchedulerOption o : options(name)) {
                keyWidth = Math.max(keyWidth, o.key().length());
                defaultWidth = Math.max(defaultWidth, o.defaultValue().length());
            }
        }
        String row = "  %-" + keyWidth + "s  %-" + defaultWidth + "s  %s%n";
        StringBuilder sb = new StringBuilder();
        for (String name : CLASS_NAMES) {
            if (!sb.isEmpty()) sb.append(System.lineSeparator());
            sb.append(name).append(System.lineSeparator());
            sb.append(String.format(row, "option", "default", "description"));
            for (SchedulerOption o : options(name)) sb.append(String.format(row, o.key(), o.defaultValue(), o.description()));
        }
        return sb.toString();
    }

    private static SchedulerClass<?> schedulerClass(String className) {
        Objects.requireNonNull(className, "className");
        for (SchedulerClass<?> c : CLASSES) if (c.name().equals(className)) return c;
        String expected = " (expected one of " + String.join(", ", CLASS_NAMES) + ")";
        if (NOT_PORTED.contains(className)) throw new IllegalArgumentException("scheduler class '" + className
                + "' is a diffusers scheduler that this port does not support" + expected);
        for (String known : CLASS_NAMES) {
            if (known.equalsIgnoreCase(className)) throw new IllegalArgumentException("unknown scheduler class '"
                    + className + "': did you mean " + known + "?" + expected);
        }
        throw new IllegalArgumentException("unknown scheduler class '" + className + "'" + expected);
    }

    /** A default as JSON text; doubles in plain decimal (0.0001 rather than 1.0E-4), infinities as Python writes them. */
    private static String jsonText(JsonNode value) {
        if (value == null) return "null";
        if (value.isFloatingPointNumber() && Double.isFinite(value.doubleValue())) {
            String plain = BigDecimal.valueOf(value.doubleValue()).stripTrailingZeros().toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        if (value.isFloatingPointNumber()) return value.doubleValue() > 0 ? "Infinity" : "-Infinity";
        return value.toString();
    }

    /** {@code withOverrides(overrides, source)} of a config record. */
    @FunctionalInterface
    private interface Overrider<C> {
        C apply(C config, Map<String, ?> overrides, String source);
    }

    /** One supported class: how to read, override, list and instantiate its config. */
    private record SchedulerClass<C extends Record>(String name, List<String> keys, Supplier<C> defaults,
                                                     BiFunction<JsonNode, String, C> fromJson,
                                                     Overrider<C> withOverrides, Function<C, ObjectNode> toJson,
                                                     Function<C, Scheduler> scheduler) {

        C config(JsonNode base, String source, Map<String, ?> overrides, String overridesSource) {
            Objects.requireNonNull(overrides, "overrides");
            C config = fromJson.apply(base, source);
            return overrides.isEmpty() ? config : withOverrides.apply(config, overrides, overridesSource);
        }

        Scheduler create(JsonNode base, String source, Map<String, ?> overrides, String overridesSource) {
            return scheduler.apply(config(base, source, overrides, overridesSource));
        }

        ObjectNode defaultsJson() { return toJson.apply(defaults.get()); }
    }
}
