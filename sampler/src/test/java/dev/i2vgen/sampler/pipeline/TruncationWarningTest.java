package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.io.tokenizer.ClipTokenizer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The warning for a prompt longer than CLIP's 77 tokens: the start of what was cut and how much, not all of it. */
class TruncationWarningTest {
    private static ClipTokenizer tokenizer() {
        try (ReferenceCase ref = ReferenceCase.bundled("tiny")) {
            return ClipTokenizer.fromFolder(ref.checkpoint().resolve("tokenizer"));
        }
    }

    @Test
    void aLongPromptShowsTheStartAndTheCountOfTheRemovedTokens() {
        ClipTokenizer t = tokenizer();
        String prompt = "a cat ".repeat(37) + "on a red sofa " + "and a dog ".repeat(5000);
        String warning = I2VGenXLPipeline.truncationWarning(t, prompt);
        int removed = t.contentIds(prompt).length - 75;
        assertEquals("The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens: "
                + "\"a red sofa and a dog and a dog and a dog …\" (" + removed + " tokens removed)", warning);
        assertTrue(warning.length() < 200, warning);
    }

    @Test
    void aShortCutIsShownWholeAndAFittingPromptGivesNoWarning() {
        ClipTokenizer t = tokenizer();
        assertEquals("The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens: "
                + "\"sofa\" (1 token removed)", I2VGenXLPipeline.truncationWarning(t, "a cat ".repeat(37) + "on sofa"));
        assertNull(I2VGenXLPipeline.truncationWarning(t, "a cat ".repeat(37) + "on"));
    }
}
