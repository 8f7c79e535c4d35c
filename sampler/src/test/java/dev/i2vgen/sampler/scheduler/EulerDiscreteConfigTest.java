package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Reading, validating and overriding EulerDiscreteScheduler configs. */
class EulerDiscreteConfigTest {
    static final Path SVD_XT = Path.of("src/test/resources/svd-xt-scheduler_config.json");

    static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    static IllegalArgumentException parseError(String text) {
        return assertThrows(IllegalArgumentException.class, () -> EulerDiscreteConfig.fromJson(json(text), "cfg.json"));
    }

    @Test
    void emptyConfigTakesDiffusersDefaults() throws Exception {
        EulerDiscreteConfig c = EulerDiscreteConfig.fromJson(json("{\"_class_name\": \"EulerDiscreteScheduler\", \"clip_sample\": false}"));
        assertEquals(EulerDiscreteConfig.defaults(), c);
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.0001, c.betaStart());
        assertEquals(0.02, c.betaEnd());
        assertEquals(BetaSchedule.LINEAR, c.betaSchedule());
        assertNull(c.trainedBetas());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertEquals(InterpolationType.LINEAR, c.interpolationType());
        assertFalse(c.useKarrasSigmas() || c.useExponentialSigmas() || c.useBetaSigmas());
        assertNull(c.sigmaMin());
        assertNull(c.sigmaMax());
        assertEquals(TimestepSpacing.LINSPACE, c.timestepSpacing());
        assertEquals(TimestepType.DISCRETE, c.timestepType());
        assertEquals(0, c.stepsOffset());
        assertFalse(c.rescaleBetasZeroSnr());
        assertEquals(FinalSigmasType.ZERO, c.finalSigmasType());
        // null means "diffusers' default", as None does in a diffusers config
        assertEquals(c, EulerDiscreteConfig.fromJson(json("{\"use_karras_sigmas\": null, \"sigma_min\": null, \"trained_betas\": null}")));
    }

    @Test
    void releasedSvdXtConfig() {
        EulerDiscreteConfig c = EulerDiscreteConfig.read(SVD_XT);
        assertEquals(BetaSchedule.SCALED_LINEAR, c.betaSchedule());
        assertEquals(0.00085, c.betaStart());
        assertEquals(0.012, c.betaEnd());
        assertEquals(PredictionType.V_PREDICTION, c.predictionType());
        assertTrue(c.useKarrasSigmas());
        assertEquals(0.002, c.sigmaMin());
        assertEquals(700.0, c.sigmaMax());
        assertEquals(TimestepSpacing.LEADING, c.timestepSpacing());
        assertEquals(1, c.stepsOffset());
        assertEquals(TimestepType.CONTINUOUS, c.timestepType());
        assertEquals(FinalSigmasType.ZERO, c.finalSigmasType());
        assertEquals(c, EulerDiscreteConfig.fromJson(c.toJson()), "toJson round trip");
    }

    @Test
    void everyChoiceIsRead() throws Exception {
        EulerDiscreteConfig c = EulerDiscreteConfig.fromJson(json("""
                {"num_train_timesteps": 4, "beta_schedule": "squaredcos_cap_v2", "trained_betas": [0.1, 0.2, 0.3, 0.4],
                 "prediction_type": "sample", "interpolation_type": "log_linear", "use_beta_sigmas": true,
                 "timestep_spacing": "trailing", "timestep_type": "continuous", "rescale_betas_zero_snr": true,
                 "final_sigmas_type": "sigma_min", "steps_offset": 2}"""));
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, c.betaSchedule());
        assertArrayEquals(new double[]{0.1, 0.2, 0.3, 0.4}, c.trainedBetas());
        assertEquals(PredictionType.SAMPLE, c.predictionType());
        assertEquals(InterpolationType.LOG_LINEAR, c.interpolationType());
        assertTrue(c.useBetaSigmas());
        assertEquals(TimestepSpacing.TRAILING, c.timestepSpacing());
        assertEquals(TimestepType.CONTINUOUS, c.timestepType());
        assertTrue(c.rescaleBetasZeroSnr());
        assertEquals(FinalSigmasType.SIGMA_MIN, c.finalSigmasType());
        assertEquals(2, c.stepsOffset());
        // diffusers' step() still accepts the legacy "original_sample"
        assertEquals(PredictionType.SAMPLE, EulerDiscreteConfig.fromJson(json("{\"prediction_type\": \"original_sample\"}")).predictionType());
        assertEquals(c, EulerDiscreteConfig.fromJson(c.toJson()), "toJson round trip");
    }

    @Test
    void wrongTypesNameTheFileAndKey() {
        for (String[] bad : new String[][]{{"num_train_timesteps", "\"1000\""}, {"num_train_timesteps", "10.5"},
                {"beta_start", "\"small\""}, {"use_karras_sigmas", "\"yes\""}, {"use_karras_sigmas", "1"},
                {"sigma_min", "[0.1]"}, {"trained_betas", "0.1"}, {"steps_offset", "true"}, {"timestep_spacing", "3"}}) {
            String message = parseError("{\"" + bad[0] + "\": " + bad[1] + "}").getMessage();
            assertTrue(message.startsWith("cfg.json: '" + bad[0] + "' must be"), message);
        }
        String element = parseError("{\"num_train_timesteps\": 2, \"trained_betas\": [0.1, \"x\"]}").getMessage();
        assertTrue(element.contains("'trained_betas[1]' must be a number"), element);
        assertTrue(parseError("[1, 2]").getMessage().startsWith("cfg.json: expected a JSON object"));
    }

    @Test
    void unknownChoicesListTheAllowedValues() {
        Map<String, List<String>> choices = Map.of(
                "beta_schedule", List.of("linear", "scaled_linear", "squaredcos_cap_v2"),
                "prediction_type", List.of("epsilon", "v_prediction", "sample"),
                "interpolation_type", List.of("linear", "log_linear"),
                "timestep_spacing", List.of("leading", "trailing", "linspace"),
                "timestep_type", List.of("discrete", "continuous"),
                "final_sigmas_type", List.of("zero", "sigma_min"));
        choices.forEach((key, allowed) -> {
            String message = parseError("{\"" + key + "\": \"bogus\"}").getMessage();
            assertTrue(message.startsWith("cfg.json: '" + key + "' must be one of"), message);
            assertTrue(message.endsWith("got 'bogus'"), message);
            for (String value : allowed) assertTrue(message.contains("'" + value + "'"), message + " lists " + value);
        });
    }

    @Test
    void constructorChecksAsDiffusersDoes() {
        String twoKinds = parseError("{\"use_karras_sigmas\": true, \"use_exponential_sigmas\": true}").getMessage();
        assertEquals("cfg.json: Only one of `config.use_beta_sigmas`, `config.use_exponential_sigmas`,"
                + " `config.use_karras_sigmas` can be used.", twoKinds);
        assertTrue(parseError("{\"use_karras_sigmas\": true, \"use_beta_sigmas\": true}").getMessage().contains("Only one of"));
        assertTrue(parseError("{\"num_train_timesteps\": 3, \"trained_betas\": [0.1]}").getMessage()
                .contains("trained_betas has 1 values but num_train_timesteps is 3"));
        assertTrue(parseError("{\"num_train_timesteps\": 0}").getMessage().contains("num_train_timesteps must be ≥ 1"));
        assertTrue(parseError("{\"sigma_max\": -1}").getMessage().contains("sigma_max must be"));
        UncheckedIOException missing = assertThrows(UncheckedIOException.class,
                () -> EulerDiscreteConfig.read(Path.of("no/such/scheduler_config.json")));
        assertTrue(missing.getMessage().contains("no/such/scheduler_config.json"));
    }

    @Test
    void overridesGoThroughTheSameParsing() {
        EulerDiscreteConfig base = EulerDiscreteConfig.read(SVD_XT);
        // as typed on a command line: JSON literals, else plain text
        EulerDiscreteConfig cli = base.withOverrides(Map.of("use_karras_sigmas", "false", "use_exponential_sigmas", "true",
                "sigma_max", "80", "timestep_spacing", "trailing", "steps_offset", "0"));
        assertFalse(cli.useKarrasSigmas());
        assertTrue(cli.useExponentialSigmas());
        assertEquals(80.0, cli.sigmaMax());
        assertEquals(0.002, cli.sigmaMin(), "untouched keys keep their value");
        assertEquals(TimestepSpacing.TRAILING, cli.timestepSpacing());
        assertEquals(0, cli.stepsOffset());

        Map<String, Object> javaValues = new HashMap<>();
        javaValues.put("sigma_min", null);
        javaValues.put("num_train_timesteps", 3);
        javaValues.put("trained_betas", List.of(0.1, 0.2, 0.3));
        javaValues.put("rescale_betas_zero_snr", true);
        EulerDiscreteConfig typed = base.withOverrides(javaValues);
        assertNull(typed.sigmaMin(), "null restores diffusers' default");
        assertArrayEquals(new double[]{0.1, 0.2, 0.3}, typed.trainedBetas());
        assertTrue(typed.rescaleBetasZeroSnr());
        assertArrayEquals(new double[]{0.5, 0.25}, base.withOverrides(Map.of("num_train_timesteps", "2",
                "trained_betas", "[0.5, 0.25]")).trainedBetas());

        String unknown = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("use_karas_sigmas", "true"))).getMessage();
        assertTrue(unknown.contains("unknown EulerDiscreteScheduler option 'use_karas_sigmas'"), unknown);
        String wrongType = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("use_karras_sigmas", "maybe"), "--scheduler")).getMessage();
        assertEquals("--scheduler: 'use_karras_sigmas' must be true or false, got \"maybe\"", wrongType);
        String badChoice = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("prediction_type", "noise"))).getMessage();
        assertTrue(badChoice.contains("'prediction_type' must be one of"), badChoice);
        String twoKinds = assertThrows(IllegalArgumentException.class,
                () -> base.withOverrides(Map.of("use_beta_sigmas", true))).getMessage();
        assertTrue(twoKinds.contains("Only one of"), twoKinds);
        assertEquals(base, EulerDiscreteConfig.read(SVD_XT), "overrides leave the original alone");
    }

    @Test
    void recordIsImmutableAndComparable() {
        double[] betas = {0.1, 0.2};
        EulerDiscreteConfig c = EulerDiscreteConfig.defaults().withOverrides(Map.of("num_train_timesteps", 2, "trained_betas", betas));
        betas[0] = 9;
        c.trainedBetas()[1] = 9;
        assertArrayEquals(new double[]{0.1, 0.2}, c.trainedBetas());
        assertEquals(c.hashCode(), EulerDiscreteConfig.fromJson(c.toJson()).hashCode());
        assertNotEquals(c, EulerDiscreteConfig.defaults());
        assertTrue(c.toString().contains("\"trained_betas\":[0.1,0.2]"), c.toString());
        assertEquals(EulerDiscreteConfig.KEYS.size(), c.toJson().size());
        assertTrue(Arrays.asList(EulerDiscreteConfig.class.getRecordComponents()).size() == EulerDiscreteConfig.KEYS.size());
    }
}
