package dev.i2vgen.cli.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.i2vgen.io.AtomicFiles;
import dev.i2vgen.io.safetensors.SafetensorsWriter;
import dev.i2vgen.model.common.RandomWeights;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a checkpoint folder of the released I2VGen-XL or SVD-XT architecture with the benchmark's random fp16 weights,
 * in the layout of the released fp16 variant ({@code unet/diffusion_pytorch_model.fp16.safetensors},
 * {@code text_encoder/model.fp16.safetensors}, ...): what {@code i2vgen generate --model DIR --dtype fp16} reads,
 * so that the whole command, from process start to MP4, can be timed at full size without a download.
 */
public final class ReleasedCheckpointWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReleasedCheckpointWriter() {}

    /** {@code model}: "i2vgen-xl" or "svd-xt". Refuses a non-empty {@code dir}; returns the bytes written. */
    public static long write(String model, Path dir, PrintWriter log) {
        try {
            if (Files.exists(dir) && (!Files.isDirectory(dir) || Files.list(dir).findAny().isPresent())) {
                throw new IllegalArgumentException("--write-checkpoint " + dir + ": exists and is not an empty folder");
            }
            Files.createDirectories(dir);
            return switch (model) {
                case "i2vgen-xl" -> writeI2VGenXL(dir, log);
                case "svd-xt" -> writeSvdXt(dir, log);
                default -> throw new IllegalArgumentException("--model must be i2vgen-xl or svd-xt, got '" + model + "'");
            };
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint folder " + dir + ": " + e.getMessage(), e);
        }
    }

    private static long writeI2VGenXL(Path dir, PrintWriter log) throws IOException {
        copy("bench/model_index.json", dir.resolve("model_index.json"));
        copy("bench/scheduler.scheduler_config.json", dir.resolve("scheduler/scheduler_config.json"));
        copy("bench/feature_extractor.preprocessor_config.json", dir.resolve("feature_extractor/preprocessor_config.json"));
        copy("demo/checkpoint/tokenizer/vocab.json", dir.resolve("tokenizer/vocab.json"));
        copy("demo/checkpoint/tokenizer/merges.txt", dir.resolve("tokenizer/merges.txt"));
        copy("bench/tokenizer.tokenizer_config.json", dir.resolve("tokenizer/tokenizer_config.json"));
        copy("bench/tokenizer.special_tokens_map.json", dir.resolve("tokenizer/special_tokens_map.json"));
        long bytes = 0;
        bytes += component(dir, "text_encoder", "bench/text_encoder.config.json", "model.fp16.safetensors",
                BenchModel.weights("text_encoder"), log);
        bytes += component(dir, "image_encoder", "bench/image_encoder.config.json", "model.fp16.safetensors",
                BenchModel.weights("image_encoder"), log);
        bytes += component(dir, "vae", "bench/vae.config.json", "diffusion_pytorch_model.fp16.safetensors", BenchModel.weights("vae"), log);
        bytes += component(dir, "unet", "bench/unet.config.json", "diffusion_pytorch_model.fp16.safetensors", BenchModel.weights("unet"), log);
        return bytes;
    }

    private static long writeSvdXt(Path dir, PrintWriter log) throws IOException {
        ObjectNode index = JSON.createObjectNode().put("_class_name", "StableVideoDiffusionPipeline");
        Map<String, String[]> components = new LinkedHashMap<>();
        components.put("feature_extractor", new String[] {"transformers", "CLIPImageProcessor"});
        components.put("image_encoder", new String[] {"transformers", "CLIPVisionModelWithProjection"});
        components.put("scheduler", new String[] {"diffusers", "EulerDiscreteScheduler"});
        components.put("unet", new String[] {"diffusers", "UNetSpatioTemporalConditionModel"});
        components.put("vae", new String[] {"diffusers", "AutoencoderKLTemporalDecoder"});
        components.forEach((name, lib) -> index.putArray(name).add(lib[0]).add(lib[1]));
        byte[] indexBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index);
        AtomicFiles.writeFile(dir.resolve("model_index.json"), tmp -> Files.write(tmp, indexBytes));
        copy("bench/svd-xt.scheduler_config.json", dir.resolve("scheduler/scheduler_config.json"));
        copy("bench/feature_extractor.preprocessor_config.json", dir.resolve("feature_extractor/preprocessor_config.json"));
        long bytes = 0;
        bytes += component(dir, "image_encoder", "bench/image_encoder.config.json", "model.fp16.safetensors",
                SvdBenchModel.imageEncoderWeights(), log);
        bytes += component(dir, "vae", "bench/svd-xt.vae.config.json", "diffusion_pytorch_model.fp16.safetensors",
                SvdBenchModel.weights("vae"), log);
        bytes += component(dir, "unet", "bench/svd-xt.unet.config.json", "diffusion_pytorch_model.fp16.safetensors",
                SvdBenchModel.weights("unet"), log);
        return bytes;
    }

    private static long component(Path dir, String name, String config, String weightsFile, RandomWeights weights, PrintWriter log)
            throws IOException {
        copy(config, dir.resolve(name).resolve("config.json"));
        Path file = dir.resolve(name).resolve(weightsFile);
        SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
        for (String tensor : weights.names()) writer.put(tensor, weights.get(tensor));
        writer.write(file);
        long bytes = Files.size(file);
        log.printf("  %-14s %s (%.2f GB, %,d parameters)%n", name, dir.relativize(file), bytes / 1e9, weights.parameterCount());
        log.flush();
        return bytes;
    }

    private static void copy(String resource, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try (InputStream in = ReleasedCheckpointWriter.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("resource " + resource + " is missing from the jar (was examples built?)");
            byte[] bytes = in.readAllBytes();
            AtomicFiles.writeFile(target, tmp -> Files.write(tmp, bytes));
        }
    }
}
