package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.io.tokenizer.ClipTokenizer;
import dev.i2vgen.model.clip.ClipTextConfig;

import java.nio.file.Path;

/**
 * The tokenizer and the text encoder of a checkpoint belong together: every token id has a row in the encoder's
 * token embedding, and every padded encoding fits its position embedding. Checked when the pipeline is built, so
 * that a mismatch names the tokenizer's file instead of failing in the embedding kernel on the first prompt.
 */
final class TokenizerTextEncoderMatch {
    private TokenizerTextEncoderMatch() {}

    static void require(ClipTokenizer tokenizer, ClipTextConfig textEncoder) {
        if (tokenizer.idBound() > textEncoder.vocabSize()) {
            int id = tokenizer.idBound() - 1;
            throw new MismatchedComponentsException(where(tokenizer.vocabularyFile(), "the tokenizer's vocabulary") + "token '"
                    + tokenizer.tokenOf(id) + "' has id " + id + ", but the text encoder's vocab_size is " + textEncoder.vocabSize()
                    + " (text_encoder/config.json): the tokenizer and the text encoder do not belong together");
        }
        if (tokenizer.maxLength() > textEncoder.maxPositionEmbeddings()) {
            throw new MismatchedComponentsException(where(tokenizer.configFile(), "the tokenizer") + "'model_max_length' is "
                    + tokenizer.maxLength() + ", but the text encoder's max_position_embeddings is " + textEncoder.maxPositionEmbeddings()
                    + " (text_encoder/config.json): every prompt is padded to model_max_length tokens");
        }
    }

    private static String where(Path file, String otherwise) { return (file == null ? otherwise : file.toString()) + ": "; }
}
