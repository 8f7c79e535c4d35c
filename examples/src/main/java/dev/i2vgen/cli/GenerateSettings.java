package dev.i2vgen.cli;

import dev.i2vgen.tensor.DType;

import java.nio.file.Path;

/** Validated options of one {@code generate} run (model null = built-in demo). */
record GenerateSettings(Path model, Path image, String prompt, String negativePrompt, int height, int width,
                        int frames, int steps, double guidance, int fps, double eta, long seed,
                        Integer decodeChunk, String device, DType dtype, Path output) {
}
