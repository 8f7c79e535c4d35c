package dev.i2vgen.io.tokenizer;

/**
 * Which implementation of transformers' {@code CLIPTokenizer} to reproduce. The two give the same ids for
 * ordinary prompts and differ only on control/format characters, Han ideographs and upper-case literal special
 * tokens (spec §1.5–1.6).
 */
public enum TokenizerFlavor {
    /**
     * The Rust-backed tokenizer of transformers 5 (what current diffusers runs and what the conformance
     * references were made with): NFC, runs of Unicode whitespace → one space, per-character lower-casing;
     * then the CLIP split regex and the byte-level (GPT-2) split.
     */
    FAST,
    /**
     * The pure-Python tokenizer without ftfy (spec §1.3 step B): drops control/format characters, isolates
     * Han ideographs, NFC, splits on whitespace, lower-cases words.
     */
    SLOW
}
