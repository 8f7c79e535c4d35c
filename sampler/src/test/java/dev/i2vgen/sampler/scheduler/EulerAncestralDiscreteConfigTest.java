package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Reading and validating EulerAncestralDiscreteScheduler configs. */
class EulerAncestralDiscreteConfigTest {
    static final Path I2VGEN_XL = Path.of("src/test/resources/i2vgen-xl-scheduler_config.json");
    static final ObjectMapper MAPPER = new ObjectMapper();

    static JsonNode json(String text) throws Exception {
        return MAPPER.readTree(text);
    }

    @Test
    void emptyConfigTakesDiffusersDefaults() throws Exception {
        EulerAncestralDiscreteConfig c = EulerAncestralDiscreteConfig.fromJson(json(
                "{\"_class_name\": \"EulerAncestralDiscreteScheduler\", \"clip_sample\": false, \"trained_betas\": null}"));
        assertEquals(EulerAncestralDiscreteConfig.defaults(), c);
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.0001, c.betaStart());
        assertEquals(0.02, c.betaEnd());
        assertEquals(BetaSchedule.LINEAR, c.betaSchedule());
        assertNull(c.trainedBetas());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertEquals(TimestepSpacing.LINSPACE, c.timestepSpacing());
        assertEquals(0, c.stepsOffset());
        assertFalse(c.rescaleBetasZeroSnr());
    }

    /** A config with every key away from its default reads back to the same JSON: each key is read. */
    @Test
    void everyKeyIsRead() throws Exception {
        ObjectNode all = (ObjectNode) json("{\"num_train_timesteps\": 4, \"beta_start\": 0.001, \"beta_end\": 0.03,"
                + " \"beta_schedule\": \"scaled_linear\", \"trained_betas\": [0.1, 0.2, 0.3, 0.4],"
                + " \"prediction_type\": \"v_prediction\", \"timestep_spacing\": \"trailing\", \"steps_offset\": 2,"
                + " \"rescale_betas_zero_snr\": true}");
        EulerAncestralDiscreteConfig c = EulerAncestralDiscreteConfig.fromJson(all);
        assertEquals(all, c.toJson());
        assertEquals(EulerAncestralDiscreteConfig.KEYS, fieldNames(c.toJson()), "KEYS in diffusers' order");
        assertNotEquals(EulerAncestralDiscreteConfig.defaults(), c);
        assertEquals(c, EulerAncestralDiscreteConfig.fromJson(c.toJson()));
        assertEquals(c.hashCode(), EulerAncestralDiscreteConfig.fromJson(c.toJson()).hashCode());
    }

    /** The I2VGen-XL DDIM config drives it too: the shared keys are read, DDIM's own ignored. */
    @Test
    void readsTheI2vgenXlConfig() {
        EulerAncestralDiscreteConfig c = EulerAncestralDiscreteConfig.read(I2VGEN_XL);
        assertEquals(BetaSchedule.SQUAREDCOS_CAP_V2, c.betaSchedule());
        assertEquals(PredictionType.V_PREDICTION, c.predictionType());
        assertEquals(TimestepSpacing.LEADING, c.timestepSpacing());
        assertEquals(1, c.stepsOffset());
        assertTrue(c.rescaleBetasZeroSnr());
        assertThrows(UncheckedIOException.class, () -> EulerAncestralDiscreteConfig.read(Path.of("no-such-config.json")));
    }

    @Test
    void errorsNameTheSourceAndKey() {
        assertError("{\"num_train_timesteps\": \"many\"}", "'num_train_timesteps' must be an integer");
        assertError("{\"beta_schedule\": \"sigmoid\"}",
                "'beta_schedule' must be one of 'linear', 'scaled_linear', 'squaredcos_cap_v2'");
        assertError("{\"prediction_type\": \"original_sample\"}", "'prediction_type' must be one of");
        assertError("{\"timestep_spacing\": \"even\"}", "'timestep_spacing' must be one of");
        assertError("{\"rescale_betas_zero_snr\": 1}", "'rescale_betas_zero_snr' must be true or false");
        assertError("{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2]}",
                "trained_betas has 2 values but num_train_timesteps is 3");
        assertError("[1, 2]", "expected a JSON object");
    }

    private static void assertError(String text, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EulerAncestralDiscreteConfig.fromJson(json(text), "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json: ") && e.getMessage().contains(expected), e.getMessage());
    }

    static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
