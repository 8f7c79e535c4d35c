/**
 * The CLIP byte-level BPE tokenizer of I2VGen-XL's text encoder (spec clip-vae-tokenizer.md §1).
 *
 * <p>Entry point: {@link dev.i2vgen.io.tokenizer.ClipTokenizer#fromFolder(java.nio.file.Path)} on a checkpoint's
 * {@code tokenizer/} folder, then {@code encode(prompt)} for the 77 ids the text encoder takes. Pipeline of one call:
 * literal special tokens are split off the raw text → normalisation ({@link dev.i2vgen.io.tokenizer.TokenizerFlavor})
 * and the CLIP word regex ({@code ClipPreTokenizer}) → UTF-8 bytes as printable symbols ({@code ByteSymbolTable})
 * → BPE per word ({@code BytePairEncoder}) → bos/eos, truncation, padding.
 */
package dev.i2vgen.io.tokenizer;
