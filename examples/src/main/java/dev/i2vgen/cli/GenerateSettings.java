package dev.i2vgen.cli;

import dev.i2vgen.tensor.DType;

import java.nio.file.Path;

/**
 * Validated options of one {@code generate} run: the video's ({@code job}, the model's defaults resolved) and the
 * process's (model null = built-in demo, image null = the demo's, device, precision, outputs). {@code devices}: the
 * --devices ordinals (empty: the backend's default device; two: CFG-parallel).
 */
record GenerateSettings(Path model, Path image, GenerationParameters job, Path saveIntermediate, String device,
                        java.util.List<Integer> devices, DType dtype, Path output) {}
