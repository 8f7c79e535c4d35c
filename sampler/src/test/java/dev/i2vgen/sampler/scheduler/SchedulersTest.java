package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.io.reference.ReferenceCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The scheduler registry: every class built from the bundled I2VGen-XL (DDIM) and SVD (Euler) scheduler configs as
 * diffusers' {@code from_config} does, with and without overrides; its errors; the option listing.
 */
class SchedulersTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Path I2VGEN = bundledSchedulerConfig("tiny");
    private static final Path SVD = bundledSchedulerConfig("svd-tiny");

    private static Path bundledSchedulerConfig(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name)) {
            return c.checkpoint().resolve("scheduler/scheduler_config.json");
        }
    }

    private static JsonNode json(Path file) throws Exception { return MAPPER.readTree(file.toFile()); }

    private static JsonNode json(String text) {
        try {
            return MAPPER.readTree(text);
        } catch (Exception e) {
            throw new AssertionError("bad JSON in the test: " + text, e);
        }
    }

    /** A config record as diffusers' JSON keys. */
    private static ObjectNode toJson(Record config) {
        return switch (config) {
            case DdimConfig c -> c.toJson();
            case DdpmConfig c -> c.toJson();
            case EulerDiscreteConfig c -> c.toJson();
            case EulerAncestralDiscreteConfig c -> c.toJson();
            case DpmSolverMultistepConfig c -> c.toJson();
            case UniPcMultistepConfig c -> c.toJson();
            case LcmConfig c -> c.toJson();
            default -> throw new AssertionError("not a scheduler config: " + config);
        };
    }

    /** The scheduler of {@code config}, built directly rather than through the registry. */
    private static Scheduler direct(Record config) {
        return switch (config) {
            case DdimConfig c -> new DdimScheduler(c).asScheduler();
            case DdpmConfig c -> new DdpmScheduler(c);
            case EulerDiscreteConfig c -> new EulerDiscreteScheduler(c).asScheduler();
            case EulerAncestralDiscreteConfig c -> new EulerAncestralDiscreteScheduler(c);
            case DpmSolverMultistepConfig c -> new DpmSolverMultistepScheduler(c);
            case UniPcMultistepConfig c -> new UniPcMultistepScheduler(c);
            case LcmConfig c -> new LcmScheduler(c);
            default -> throw new AssertionError("not a scheduler config: " + config);
        };
    }

    private static List<String> keys(String className) {
        return Schedulers.options(className).stream().map(SchedulerOption::key).toList();
    }

    /** Numbers compare by value (a file's 700.0 and a record's 700), everything else as JSON. */
    private static void assertSameValue(JsonNode expected, JsonNode actual, String what) {
        if (expected.isNumber() && actual.isNumber()) assertEquals(expected.doubleValue(), actual.doubleValue(), what);
        else assertEquals(expected, actual, what);
    }

    /**
     * from_config's rule for every key of the class: the base file's value where it has the key (null meaning the
     * default), the class's default elsewhere; overridden keys take the override.
     */
    private static void assertFromConfig(String className, JsonNode base, Map<String, JsonNode> overrides, Record config) {
        ObjectNode actual = toJson(config);
        ObjectNode defaults = toJson(Schedulers.config(className, json("{}"), "defaults", Map.of()));
        for (String key : keys(className)) {
            JsonNode fromBase = base.get(key);
            JsonNode expected = overrides.containsKey(key) ? overrides.get(key)
                    : fromBase != null && !fromBase.isNull() ? fromBase : defaults.get(key);
            if (key.equals("solver_p") || expected == null) continue; // UniPC's solver_p is always null
            assertSameValue(expected, actual.path(key), className + " " + key);
        }
    }

    @Test
    void everyClassFromBothBundledConfigs() throws Exception {
        for (Path file : List.of(I2VGEN, SVD)) {
            JsonNode base = json(file);
            for (String name : Schedulers.CLASS_NAMES) {
                Record config = Schedulers.config(name, base, file.toString(), Map.of());
                assertFromConfig(name, base, Map.of(), config);
                Scheduler s = Schedulers.create(name, base, file.toString(), Map.of());
                assertEquals(name, s.className());
                assertArrayEquals(direct(config).setTimesteps(10).timesteps(), s.setTimesteps(10).timesteps(),
                        name + " from " + file + " runs its config");
            }
        }
    }

    @Test
    void i2vgenConfigCarriesItsNoiseKeysToEveryClass() throws Exception {
        JsonNode base = json(I2VGEN);
        DpmSolverMultistepConfig dpm = (DpmSolverMultistepConfig) Schedulers.config("DPMSolverMultistepScheduler", base,
                I2VGEN.toString(), Map.of("use_karras_sigmas", "true"));
        assertEquals(DpmSolverPredictionType.V_PREDICTION, dpm.predictionType());
        assertTrue(dpm.rescaleBetasZeroSnr());
        assertTrue(dpm.useKarrasSigmas());
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, dpm.betaSchedule());
        assertEquals(TimestepSpacing.LEADING, dpm.timestepSpacing());
        assertEquals(1, dpm.stepsOffset());
        assertEquals(2, dpm.solverOrder(), "keys the DDIM file lacks take DPMSolver's defaults");
        assertEquals(DpmSolverAlgorithmType.DPMSOLVER_PLUS_PLUS, dpm.algorithmType());

        Scheduler karras = Schedulers.create("DPMSolverMultistepScheduler", base, I2VGEN.toString(),
                Map.of("use_karras_sigmas", true)).setTimesteps(10);
        Scheduler plain = Schedulers.create("DPMSolverMultistepScheduler", base, I2VGEN.toString(), Map.of()).setTimesteps(10);
        assertArrayEquals(new DpmSolverMultistepScheduler(dpm).setTimesteps(10).timesteps(), karras.timesteps());
        assertFalse(Arrays.equals(plain.timesteps(), karras.timesteps()), "the override reaches the scheduler");

        EulerDiscreteConfig euler = (EulerDiscreteConfig) Schedulers.config("EulerDiscreteScheduler", base, "i2vgen", Map.of());
        assertEquals(PredictionType.V_PREDICTION, euler.predictionType());
        assertTrue(euler.rescaleBetasZeroSnr());
        assertEquals(TimestepType.DISCRETE, euler.timestepType());
        LcmConfig lcm = (LcmConfig) Schedulers.config("LCMScheduler", base, "i2vgen", Map.of());
        assertEquals(0.0001, lcm.betaStart(), "the file's beta_start, not LCM's default 0.00085");
        assertFalse(lcm.clipSample());
    }

    @Test
    void svdConfigCarriesItsSigmasToTheSolvers() throws Exception {
        JsonNode base = json(SVD);
        DpmSolverMultistepConfig dpm = (DpmSolverMultistepConfig) Schedulers.config("DPMSolverMultistepScheduler", base,
                SVD.toString(), Map.of());
        assertEquals(0.002, dpm.sigmaMin(), "diffusers keeps sigma_min from the Euler file");
        assertEquals(700.0, dpm.sigmaMax());
        assertTrue(dpm.useKarrasSigmas());
        assertEquals(BetaSchedule.SCALED_LINEAR, dpm.betaSchedule());
        UniPcMultistepConfig unipc = (UniPcMultistepConfig) Schedulers.config("UniPCMultistepScheduler", base,
                SVD.toString(), Map.of("disable_corrector", "[0,1]", "use_karras_sigmas", "false"));
        assertEquals(List.of(0, 1), unipc.disableCorrector());
        assertFalse(unipc.useKarrasSigmas());
        assertEquals(0.002, unipc.sigmaMin());
        DdimConfig ddim = (DdimConfig) Schedulers.config("DDIMScheduler", base, SVD.toString(), Map.of());
        assertEquals(PredictionType.V_PREDICTION, ddim.predictionType());
        assertTrue(ddim.clipSample(), "DDIM's default: the Euler file has no clip_sample");
    }

    @Test
    void overridesOfEveryClass() throws Exception {
        Map<String, Map<String, String>> overrides = new LinkedHashMap<>();
        overrides.put("DDIMScheduler", Map.of("timestep_spacing", "trailing", "steps_offset", "0"));
        overrides.put("DDPMScheduler", Map.of("variance_type", "fixed_large", "clip_sample", "false"));
        overrides.put("EulerDiscreteScheduler", Map.of("use_karras_sigmas", "true", "timestep_type", "continuous"));
        overrides.put("EulerAncestralDiscreteScheduler", Map.of("timestep_spacing", "trailing"));
        overrides.put("DPMSolverMultistepScheduler", Map.of("algorithm_type", "sde-dpmsolver++", "solver_order", "3"));
        overrides.put("UniPCMultistepScheduler", Map.of("solver_type", "bh1", "disable_corrector", "[0,1]"));
        overrides.put("LCMScheduler", Map.of("original_inference_steps", "8", "timestep_scaling", "2.5"));
        assertEquals(Schedulers.CLASS_NAMES, List.copyOf(overrides.keySet()));
        for (Path file : List.of(I2VGEN, SVD)) {
            JsonNode base = json(file);
            for (Map.Entry<String, Map<String, String>> e : overrides.entrySet()) {
                Map<String, JsonNode> expected = new LinkedHashMap<>();
                e.getValue().forEach((k, v) -> expected.put(k, v.matches("[\\[0-9].*|true|false") ? json(v)
                        : MAPPER.getNodeFactory().textNode(v)));
                Record config = Schedulers.config(e.getKey(), base, file.toString(), e.getValue());
                assertFromConfig(e.getKey(), base, expected, config);
                SchedulerSpec spec = new SchedulerSpec(e.getKey(), e.getValue());
                Scheduler s = Schedulers.create(file, spec);
                assertEquals(e.getKey(), s.className());
                assertArrayEquals(direct(config).setTimesteps(6).timesteps(), s.setTimesteps(6).timesteps(), spec.toString());
            }
        }
    }

    @Test
    void configFileNamesItsClass() throws Exception {
        Scheduler ddim = Schedulers.fromConfigFile(I2VGEN);
        assertEquals("DDIMScheduler", ddim.className());
        assertTrue(ddim.acceptsEta());
        assertArrayEquals(new DdimScheduler(DdimConfig.read(I2VGEN)).asScheduler().setTimesteps(25).timesteps(),
                ddim.setTimesteps(25).timesteps());
        Scheduler euler = Schedulers.create(SVD, null);
        assertEquals("EulerDiscreteScheduler", euler.className());
        assertArrayEquals(new EulerDiscreteScheduler(EulerDiscreteConfig.read(SVD)).asScheduler().setTimesteps(25).timesteps(),
                euler.setTimesteps(25).timesteps());
        UniPcMultistepScheduler unipc = (UniPcMultistepScheduler) Schedulers.create(SVD,
                SchedulerSpec.parse("UniPCMultistepScheduler:disable_corrector=[0,1],solver_order=3"));
        assertEquals(List.of(0, 1), unipc.config().disableCorrector());
        assertEquals(3, unipc.config().solverOrder());
    }

    @Test
    void unknownOrUnsupportedClassesListTheSupportedOnes() {
        String supported = "(expected one of DDIMScheduler, DDPMScheduler, EulerDiscreteScheduler,"
                + " EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler, UniPCMultistepScheduler, LCMScheduler)";
        assertEquals("unknown scheduler class 'Foo' " + supported, assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("Foo", json("{}"), "x", Map.of())).getMessage());
        assertEquals("scheduler class 'PNDMScheduler' is a diffusers scheduler that this port does not support "
                + supported, assertThrows(IllegalArgumentException.class,
                () -> Schedulers.options("PNDMScheduler")).getMessage());
        assertEquals("unknown scheduler class 'dpmsolvermultistepscheduler': did you mean DPMSolverMultistepScheduler? "
                + supported, assertThrows(IllegalArgumentException.class,
                () -> Schedulers.config("dpmsolvermultistepscheduler", json("{}"), "x", Map.of())).getMessage());
    }

    @Test
    void unknownOverrideKeysAndBadValuesAreNamed() throws Exception {
        JsonNode base = json(I2VGEN);
        String unknown = assertThrows(IllegalArgumentException.class, () -> Schedulers.create("DPMSolverMultistepScheduler",
                base, "i2vgen", Map.of("use_karas_sigmas", "true"))).getMessage();
        assertEquals("DPMSolverMultistepScheduler overrides: unknown DPMSolverMultistepScheduler option 'use_karas_sigmas'"
                + " (expected one of " + String.join(", ", DpmSolverMultistepConfig.KEYS) + ")", unknown);
        String ddimKey = assertThrows(IllegalArgumentException.class, () -> Schedulers.create("DDIMScheduler",
                base, "i2vgen", Map.of("use_karras_sigmas", true))).getMessage();
        assertTrue(ddimKey.contains("unknown DDIMScheduler option 'use_karras_sigmas' (expected one of num_train_timesteps,"),
                ddimKey);
        assertEquals("DPMSolverMultistepScheduler overrides: 'use_karras_sigmas' must be true or false, got \"maybe\"",
                assertThrows(IllegalArgumentException.class, () -> Schedulers.create("DPMSolverMultistepScheduler",
                        base, "i2vgen", Map.of("use_karras_sigmas", "maybe"))).getMessage());
        assertEquals("scheduler 'UniPCMultistepScheduler:solver_order=two': 'solver_order' must be an integer, got \"two\"",
                assertThrows(IllegalArgumentException.class, () -> Schedulers.create(I2VGEN,
                        SchedulerSpec.parse("UniPCMultistepScheduler:solver_order=two"))).getMessage());
        String choice = assertThrows(IllegalArgumentException.class, () -> Schedulers.create(I2VGEN,
                SchedulerSpec.parse("DDPMScheduler:variance_type=wide"))).getMessage();
        assertTrue(choice.startsWith("scheduler 'DDPMScheduler:variance_type=wide': 'variance_type' must be one of"), choice);
        String ddimValue = assertThrows(IllegalArgumentException.class, () -> Schedulers.create(I2VGEN,
                SchedulerSpec.parse("DDIMScheduler:clip_sample=sometimes"))).getMessage();
        assertEquals("scheduler 'DDIMScheduler:clip_sample=sometimes': 'clip_sample' must be true or false,"
                + " got \"sometimes\"", ddimValue);
    }

    @Test
    void baseConfigErrorsNameTheirSourceAndUnknownBaseKeysAreIgnored() throws Exception {
        assertEquals("my.json: 'steps_offset' must be an integer, got \"one\"", assertThrows(IllegalArgumentException.class,
                () -> Schedulers.create("DDIMScheduler", json("{\"steps_offset\": \"one\"}"), "my.json", Map.of())).getMessage());
        Record euler = Schedulers.config("EulerDiscreteScheduler",
                json("{\"clip_sample\": \"not Euler's\", \"solver_order\": 9, \"beta_end\": 0.03}"), "other.json", Map.of());
        assertEquals(EulerDiscreteConfig.defaults().withOverrides(Map.of("beta_end", 0.03)), euler);
    }

    @Test
    void configFilesWithoutAUsableClassNameAreRefusedNamingTheFile(@TempDir Path dir) throws Exception {
        Path noName = Files.writeString(dir.resolve("no_name.json"), "{\"beta_start\": 0.001}");
        String missing = assertThrows(IllegalArgumentException.class, () -> Schedulers.fromConfigFile(noName)).getMessage();
        assertTrue(missing.startsWith(noName + ": '_class_name' must name the scheduler class, one of DDIMScheduler,"),
                missing);
        assertEquals(DdimConfig.defaults().withOverrides(Map.of("beta_start", 0.001)).toJson(),
                toJson(Schedulers.config("DDIMScheduler", json(noName), noName.toString(), Map.of())),
                "a spec names the class where the file does not");
        assertEquals("DDIMScheduler", Schedulers.create(noName, SchedulerSpec.of("DDIMScheduler")).className());

        Path pndm = Files.writeString(dir.resolve("pndm.json"), "{\"_class_name\": \"PNDMScheduler\"}");
        String unsupported = assertThrows(IllegalArgumentException.class, () -> Schedulers.fromConfigFile(pndm)).getMessage();
        assertTrue(unsupported.startsWith(pndm + ": scheduler class 'PNDMScheduler' is a diffusers scheduler that this"
                + " port does not support"), unsupported);
        Path dpm = Files.writeString(dir.resolve("dpm.json"), "{\"_class_name\": \"DPMSolverMultistepScheduler\","
                + " \"lambda_min_clipped\": -Infinity}");
        assertEquals("DPMSolverMultistepScheduler", Schedulers.fromConfigFile(dpm).className(), "Python's -Infinity reads");
    }

    @Test
    void unreadableOrMalformedConfigFilesAreOneLineNamingTheFile(@TempDir Path dir) throws Exception {
        Path broken = Files.writeString(dir.resolve("scheduler_config.json"), "{\n  \"_class_name\": \"DDIMScheduler\",\n  \"beta_start\": 0.0.1\n}");
        String malformed = assertThrows(IllegalArgumentException.class, () -> CheckpointScheduler.read(broken)).getMessage();
        assertTrue(malformed.startsWith(broken + ": is not valid JSON: ") && malformed.contains("(line 3, column") && !malformed.contains("\n"),
                malformed);
        Path none = dir.resolve("none.json");
        assertEquals(none + ": cannot read: no such file or folder",
                assertThrows(java.io.UncheckedIOException.class, () -> CheckpointScheduler.read(none)).getMessage());
        assertEquals(none + ": cannot read: no such file or folder",
                assertThrows(java.io.UncheckedIOException.class, () -> DdimConfig.read(none)).getMessage());
    }

    @Test
    void optionsListEveryKeyWithItsDefault() {
        assertEquals(DdimConfig.KEYS, keys("DDIMScheduler"));
        assertEquals(DdpmConfig.KEYS, keys("DDPMScheduler"));
        assertEquals(EulerDiscreteConfig.KEYS, keys("EulerDiscreteScheduler"));
        assertEquals(EulerAncestralDiscreteConfig.KEYS, keys("EulerAncestralDiscreteScheduler"));
        assertEquals(DpmSolverMultistepConfig.KEYS, keys("DPMSolverMultistepScheduler"));
        assertEquals(UniPcMultistepConfig.KEYS, keys("UniPCMultistepScheduler"));
        assertEquals(LcmConfig.KEYS, keys("LCMScheduler"));

        Map<String, String> dpm = new LinkedHashMap<>();
        Schedulers.options("DPMSolverMultistepScheduler").forEach(o -> dpm.put(o.key(), o.defaultValue()));
        assertEquals("1000", dpm.get("num_train_timesteps"));
        assertEquals("0.0001", dpm.get("beta_start"));
        assertEquals("1.0", dpm.get("sample_max_value"));
        assertEquals("\"dpmsolver++\"", dpm.get("algorithm_type"));
        assertEquals("-Infinity", dpm.get("lambda_min_clipped"));
        assertEquals("null", dpm.get("sigma_min"));
        assertEquals("false", dpm.get("use_karras_sigmas"));
        assertEquals("[]", Schedulers.options("UniPCMultistepScheduler").get(13).defaultValue());
        assertEquals("disable_corrector", Schedulers.options("UniPCMultistepScheduler").get(13).key());
        assertEquals("0.00085", Schedulers.options("LCMScheduler").get(1).defaultValue());
    }

    @Test
    void listedDefaultsAreOverridesThatRestoreTheDefaults() throws Exception {
        for (String name : Schedulers.CLASS_NAMES) {
            Map<String, String> listed = new LinkedHashMap<>();
            for (SchedulerOption o : Schedulers.options(name)) {
                listed.put(o.key(), o.defaultValue());
                assertFalse(o.description().isBlank(), name + " " + o.key());
                assertFalse(o.description().contains("\n"), name + " " + o.key());
            }
            Record fromDefaults = Schedulers.config(name, json("{\"beta_start\": 0.5, \"steps_offset\": 7}"), "base", listed);
            assertEquals(Schedulers.config(name, json("{}"), "defaults", Map.of()), fromDefaults, name);
        }
    }

    @Test
    void describeListsEveryClassAndOption() {
        String text = Schedulers.describe();
        Iterator<String> lines = text.lines().iterator();
        for (String name : Schedulers.CLASS_NAMES) {
            assertEquals(name, lines.next());
            assertTrue(lines.next().matches(" {2}option +default +description"));
            for (SchedulerOption o : Schedulers.options(name)) {
                String line = lines.next();
                assertTrue(line.matches(" {2}" + Pattern.quote(o.key()) + " +"
                        + Pattern.quote(o.defaultValue()) + " +"
                        + Pattern.quote(o.description())), line);
            }
            if (lines.hasNext()) assertEquals("", lines.next());
        }
        assertFalse(lines.hasNext());
        assertTrue(text.contains("  use_karras_sigmas "), text);
    }
}
