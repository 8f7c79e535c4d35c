package dev.i2vgen.model.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.graph.ops.Unary;
import dev.i2vgen.io.config.JsonConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config parsing: released values, transformers' defaults, hidden_act mapping, clear errors. */
class ClipConfigTest {
    static JsonConfig json(String text) throws Exception {
        return new JsonConfig(new ObjectMapper().readTree(text), "test config.json");
    }

    @Test
    void releasedTextConfig() throws Exception {
        ClipTextConfig c = ClipTextConfig.fromJson(json("""
                {"architectures": ["CLIPTextModel"], "hidden_act": "gelu", "hidden_size": 1024, "intermediate_size": 4096,
                 "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "num_attention_heads": 16,
                 "num_hidden_layers": 24, "projection_dim": 1024, "vocab_size": 49408}"""));
        assertEquals(new ClipTextConfig(49408, 1024, 4096, 24, 16, 77, Unary.Kind.GELU, 1e-5f), c);
        assertEquals(64, c.headDim());
    }

    @Test
    void textDefaultsAreTransformers() throws Exception {
        ClipTextConfig c = ClipTextConfig.fromJson(json("{}"));
        assertEquals(new ClipTextConfig(49408, 512, 2048, 12, 8, 77, Unary.Kind.QUICK_GELU, 1e-5f), c);
    }

    @Test
    void nestedClipConfigIsAccepted() throws Exception {
        String full = """
                {"text_config": {"hidden_size": 32, "num_attention_heads": 4, "hidden_act": "gelu_new"},
                 "vision_config": {"hidden_size": 48, "num_attention_heads": 3, "image_size": 28, "patch_size": 14}}""";
        ClipTextConfig t = ClipTextConfig.fromJson(json(full));
        assertEquals(32, t.hiddenSize());
        assertEquals(Unary.Kind.GELU_TANH, t.hiddenAct());
        ClipVisionConfig v = ClipVisionConfig.fromJson(json(full));
        assertEquals(48, v.hiddenSize());
        assertEquals(5, v.numPositions());
    }

    @Test
    void releasedVisionConfig() throws Exception {
        ClipVisionConfig c = ClipVisionConfig.fromJson(json("""
                {"hidden_act": "gelu", "hidden_size": 1280, "image_size": 224, "intermediate_size": 5120,
                 "layer_norm_eps": 1e-05, "num_attention_heads": 16, "num_channels": 3, "num_hidden_layers": 32,
                 "patch_size": 14, "projection_dim": 1024}"""));
        assertEquals(new ClipVisionConfig(1280, 5120, 1024, 32, 16, 3, 224, 14, Unary.Kind.GELU, 1e-5f), c);
        assertEquals(257, c.numPositions());
        assertEquals(80, c.headDim());
    }

    @Test
    void hiddenActNames() {
        assertEquals(Unary.Kind.GELU, ClipActivation.fromConfig("gelu", "x"));
        assertEquals(Unary.Kind.QUICK_GELU, ClipActivation.fromConfig("quick_gelu", "x"));
        assertEquals(Unary.Kind.GELU_TANH, ClipActivation.fromConfig("gelu_new", "x"));
        assertEquals(Unary.Kind.GELU_TANH, ClipActivation.fromConfig("gelu_pytorch_tanh", "x"));
        var e = assertThrows(IllegalArgumentException.class, () -> ClipActivation.fromConfig("relu", "my/config.json"));
        assertTrue(e.getMessage().contains("my/config.json") && e.getMessage().contains("relu"), e.getMessage());
    }

    @Test
    void badValuesNameTheKey() throws Exception {
        var e = assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.fromJson(json("{\"hidden_size\": \"big\"}")));
        assertTrue(e.getMessage().contains("hidden_size") && e.getMessage().contains("test config.json"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> ClipTextConfig.fromJson(json("{\"hidden_size\": 30, \"num_attention_heads\": 4}")));
        assertTrue(e2.getMessage().contains("not divisible"), e2.getMessage());
    }

    static void assertRejected(IllegalArgumentException e, String key, String expected) {
        assertTrue(e.getMessage().startsWith("test config.json: '" + key + "' ") && e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void textZeroSizesAreRejectedBeforeAnyDivision() {
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.fromJson(json("{\"num_attention_heads\": 0}"))),
                "num_attention_heads", "must be a positive integer");
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.fromJson(json("{\"max_position_embeddings\": -1}"))),
                "max_position_embeddings", "must be a positive integer");
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.fromJson(json("{\"num_hidden_layers\": 12.5}"))),
                "num_hidden_layers", "must be an integer");
        assertRejected(assertThrows(IllegalArgumentException.class,
                () -> ClipTextConfig.fromJson(json("{\"hidden_size\": 30, \"num_attention_heads\": 4}"))), "hidden_size", "not divisible by num_attention_heads 4");
    }

    @Test
    void nestedTextConfigNamesItsSection() {
        var e = assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.fromJson(json("{\"text_config\": {\"num_attention_heads\": 0}}")));
        assertTrue(e.getMessage().startsWith("test config.json: 'text_config.num_attention_heads'"), e.getMessage());
    }

    @Test
    void layerNormEpsIsAFiniteNonNegativeNumber() {
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipTextConfig.fromJson(json("{\"layer_norm_eps\": -1e-5}"))),
                "layer_norm_eps", "must be a non-negative number, got -1.0E-5");
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.fromJson(json("{\"layer_norm_eps\": \"1e-5\"}"))),
                "layer_norm_eps", "must be a number, got \"1e-5\"");
    }

    @Test
    void visionZeroAndNotDivisibleNameTheKey() {
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.fromJson(json("{\"patch_size\": 0}"))),
                "patch_size", "must be a positive integer");
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.fromJson(json("{\"num_attention_heads\": 0}"))),
                "num_attention_heads", "must be a positive integer");
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.fromJson(json("{\"image_size\": \"224\"}"))),
                "image_size", "must be an integer");
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.fromJson(json("{\"image_size\": 225}"))),
                "image_size", "is not a multiple of patch_size 32");
        assertRejected(assertThrows(IllegalArgumentException.class, () -> ClipVisionConfig.fromJson(json("{\"hidden_size\": 770}"))),
                "hidden_size", "not divisible by num_attention_heads 12");
    }

    @Test
    void directConstructionRejectsZeroHeadsWithoutDividing() {
        var e = assertThrows(IllegalArgumentException.class, () -> new ClipTextConfig(49408, 512, 2048, 12, 0, 77, Unary.Kind.GELU, 1e-5f));
        assertTrue(e.getMessage().contains("'num_attention_heads'"), e.getMessage());
    }
}
