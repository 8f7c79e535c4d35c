package dev.i2vgen.model.clip;

import dev.i2vgen.graph.TaskGraph;

import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Full-size graphs against the released checkpoint's tensor names and shapes (graph building only). */
class ReleasedClipLayoutTest {

    @Test
    void textEncoderUsesEveryReleasedTensorAndPrunesTheLastLayerForClipSkip1() throws Exception {
        ClipTextConfig cfg = ClipTextConfig.fromJson(ClipConfigTest.json("""
                {"hidden_act": "gelu", "hidden_size": 1024, "intermediate_size": 4096, "layer_norm_eps": 1e-05,
                 "max_position_embeddings": 77, "num_attention_heads": 16, "num_hidden_layers": 24, "vocab_size": 49408}"""));
        ReleasedLayout layout = ReleasedLayout.of("text_encoder");   // names carry the "text_model." prefix
        ClipTextEncoder enc = new ClipTextEncoder(cfg, layout);

        TaskGraph all = new TaskGraph("text_all", DType.F32);
        ClipTextEncoder.Encoding e = enc.build(all, all.input("ids", DType.I32, 1, 77), null, true);
        all.output("out", e.embeds());
        assertArrayEquals(new int[]{1, 77, 1024}, e.embeds().shape());
        assertEquals(25, e.hiddenStates().size());
        assertEquals(java.util.Set.of(), layout.unused(all.freeze()));

        TaskGraph pruned = new TaskGraph("text_skip1", DType.F32);
        pruned.output("out", enc.encode(pruned, pruned.input("ids", DType.I32, 2, 77), 1));
        var unused = layout.unused(pruned.freeze());
        assertEquals(16, unused.size(), "exactly layer 23's 16 tensors are not needed: " + unused);
        unused.forEach(n -> org.junit.jupiter.api.Assertions.assertTrue(n.startsWith("text_model.encoder.layers.23."), n));
    }

    @Test
    void visionEncoderUsesEveryReleasedTensor() throws Exception {
        ClipVisionConfig cfg = ClipVisionConfig.fromJson(ClipConfigTest.json("""
                {"hidden_act": "gelu", "hidden_size": 1280, "image_size": 224, "intermediate_size": 5120,
                 "layer_norm_eps": 1e-05, "num_attention_heads": 16, "num_channels": 3, "num_hidden_layers": 32,
                 "patch_size": 14, "projection_dim": 1024}"""));
        ReleasedLayout layout = ReleasedLayout.of("image_encoder");
        TaskGraph g = new TaskGraph("vision", DType.F32);
        ClipVisionEncoder.Encoding e = new ClipVisionEncoder(cfg, layout).build(g, g.input("px", DType.F32, 1, 3, 224, 224));
        g.output("embeds", e.imageEmbeds());
        assertArrayEquals(new int[]{1, 1024}, e.imageEmbeds().shape());
        assertArrayEquals(new int[]{1, 257, 1280}, e.hiddenStates().get(32).shape());
        assertEquals(java.util.Set.of(), layout.unused(g.freeze()));
    }

}
