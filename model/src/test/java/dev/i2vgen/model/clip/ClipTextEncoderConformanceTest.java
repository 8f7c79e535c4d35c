package dev.i2vgen.model.clip;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.Backends;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.safetensors.SafetensorsFile;
import dev.i2vgen.tensor.DType;
import dev.i2vgen.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static dev.i2vgen.model.clip.TestCheckpoints.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** CLIP text encoder vs the diffusers run's recorded tensors (fp32, and fp16 weights computed in fp32). */
class ClipTextEncoderConformanceTest {
    static final double TOL = 1e-4;
    static Backend backend;

    @BeforeAll static void start() { backend = Backends.create("jvm"); }

    @AfterAll static void stop() { backend.close(); }

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-fp16"})
    void everyHiddenStateAndBothPromptEmbeddingsMatch(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name);
             SafetensorsFile w = TestCheckpoints.open(c, "text_encoder")) {
            ClipTextConfig cfg = ClipTextConfig.load(TestCheckpoints.config(c, "text_encoder"));
            ClipTextEncoder enc = new ClipTextEncoder(cfg, w);
            // call 0 = prompt (tokenizer call 0), call 1 = negative prompt (tokenizer call 2)
            String[][] calls = {{"0", "tokenizer.0.input_ids", "prompt_embeds"}, {"1", "tokenizer.2.input_ids", "negative_prompt_embeds"}};
            for (String[] call : calls) {
                Tensor ids = c.tensor(call[1]);
                Map<String, Tensor> out = enc.runWithHiddenStates(backend, ids, 1, DType.F32);
                for (int k = 0; k <= cfg.numHiddenLayers(); k++) {
                    String ref = "text_encoder." + call[0] + ".hidden_states." + k;
                    assertClose(name + " " + ref, out.get("hidden_states." + k), c.tensor(ref), TOL);
                }
                assertClose(name + " last_hidden_state " + call[0], out.get("last_hidden_state"),
                        c.tensor("text_encoder." + call[0] + ".last_hidden_state"), TOL);
                assertClose(name + " " + call[2], out.get(ClipTextEncoder.OUTPUT_EMBEDS), c.tensor(call[2]), TOL);

                // the production path builds only the layers clip_skip needs and must give the same embedding
                Tensor embeds = enc.run(backend, ids, 1, DType.F32);
                assertClose(name + " " + call[2] + " (pruned graph)", embeds, c.tensor(call[2]), TOL);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny"})
    void clipSkipNullGivesLastHiddenState(String name) {
        try (ReferenceCase c = ReferenceCase.bundled(name);
             SafetensorsFile w = TestCheckpoints.open(c, "text_encoder")) {
            ClipTextEncoder enc = new ClipTextEncoder(ClipTextConfig.load(TestCheckpoints.config(c, "text_encoder")), w);
            Tensor embeds = enc.run(backend, c.tensor("tokenizer.0.input_ids"), null, DType.F32);
            assertClose("last_hidden_state", embeds, c.tensor("text_encoder.0.last_hidden_state"), TOL);
            assertEquals(3, embeds.rank());
        }
    }
}
