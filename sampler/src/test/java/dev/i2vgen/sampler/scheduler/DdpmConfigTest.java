package dev.i2vgen.sampler.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Reading and validating DDPMScheduler configs. */
class DdpmConfigTest {
    static JsonNode json(String text) throws Exception {
        return new ObjectMapper().readTree(text);
    }

    @Test
    void emptyConfigTakesDiffusersDefaults() throws Exception {
        DdpmConfig c = DdpmConfig.fromJson(json("{\"_class_name\": \"DDPMScheduler\", \"set_alpha_to_one\": true,"
                + " \"variance_type\": null}"));
        assertEquals(DdpmConfig.defaults(), c);
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(0.0001, c.betaStart());
        assertEquals(0.02, c.betaEnd());
        assertEquals(DdpmBetaSchedule.LINEAR, c.betaSchedule());
        assertNull(c.trainedBetas());
        assertEquals(DdpmVarianceType.FIXED_SMALL, c.varianceType());
        assertTrue(c.clipSample());
        assertEquals(PredictionType.EPSILON, c.predictionType());
        assertFalse(c.thresholding());
        assertEquals(0.995, c.dynamicThresholdingRatio());
        assertEquals(1.0, c.clipSampleRange());
        assertEquals(1.0, c.sampleMaxValue());
        assertEquals(TimestepSpacing.LEADING, c.timestepSpacing());
        assertEquals(0, c.stepsOffset());
        assertFalse(c.rescaleBetasZeroSnr());
    }

    @Test
    void everyKeyIsRead() throws Exception {
        ObjectNode all = (ObjectNode) json("{\"num_train_timesteps\": 3, \"beta_start\": 0.001, \"beta_end\": 0.03,"
                + " \"beta_schedule\": \"laplace\", \"trained_betas\": [0.1, 0.2, 0.3], \"variance_type\": \"learned_range\","
                + " \"clip_sample\": false, \"prediction_type\": \"sample\", \"thresholding\": true,"
                + " \"dynamic_thresholding_ratio\": 0.9, \"clip_sample_range\": 2.5, \"sample_max_value\": 3.0,"
                + " \"timestep_spacing\": \"linspace\", \"steps_offset\": 1, \"rescale_betas_zero_snr\": true}");
        DdpmConfig c = DdpmConfig.fromJson(all);
        assertEquals(all, c.toJson());
        assertEquals(DdpmConfig.KEYS, EulerAncestralDiscreteConfigTest.fieldNames(c.toJson()), "KEYS in diffusers' order");
        assertEquals(c, DdpmConfig.fromJson(c.toJson()));
        assertEquals(c.hashCode(), DdpmConfig.fromJson(c.toJson()).hashCode());
    }

    @Test
    void everyBetaScheduleAndVarianceTypeHasItsDiffusersName() throws Exception {
        for (DdpmBetaSchedule b : DdpmBetaSchedule.values()) {
            assertEquals(b, DdpmConfig.fromJson(json("{\"beta_schedule\": \"" + b.configName() + "\"}")).betaSchedule());
        }
        for (DdpmVarianceType v : DdpmVarianceType.values()) {
            assertEquals(v, DdpmConfig.fromJson(json("{\"variance_type\": \"" + v.configName() + "\"}")).varianceType());
        }
    }

    @Test
    void readsTheI2vgenXlConfig() {
        DdpmConfig c = DdpmConfig.read(EulerAncestralDiscreteConfigTest.I2VGEN_XL);
        assertEquals(DdpmBetaSchedule.SQUAREDCOS_CAP_V2, c.betaSchedule());
        assertEquals(PredictionType.V_PREDICTION, c.predictionType());
        assertFalse(c.clipSample());
        assertEquals(1, c.stepsOffset());
        assertTrue(c.rescaleBetasZeroSnr());
        assertThrows(UncheckedIOException.class, () -> DdpmConfig.read(Path.of("no-such-config.json")));
    }

    @Test
    void errorsNameTheSourceAndKey() {
        assertError("{\"variance_type\": \"fixed\"}", "'variance_type' must be one of 'fixed_small', 'fixed_small_log'");
        assertError("{\"beta_schedule\": \"cosine\"}", "'beta_schedule' must be one of");
        assertError("{\"clip_sample_range\": \"1\"}", "'clip_sample_range' must be a number");
        assertError("{\"thresholding\": true, \"dynamic_thresholding_ratio\": 1.5}", "dynamic_thresholding_ratio must be a quantile");
        assertError("{\"trained_betas\": [0.1, \"x\"], \"num_train_timesteps\": 2}", "'trained_betas[1]' must be a number");
    }

    private static void assertError(String text, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DdpmConfig.fromJson(json(text), "cfg.json"));
        assertTrue(e.getMessage().startsWith("cfg.json: ") && e.getMessage().contains(expected), e.getMessage());
    }
}
