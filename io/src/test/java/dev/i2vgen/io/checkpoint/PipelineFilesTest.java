package dev.i2vgen.io.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What is fetched of a repository, chosen from its file list by the loader's own rules (WeightFiles). */
class PipelineFilesTest {
    private static final Path REPO = Path.of("org/tiny@main");

    /** ali-vilab/i2vgen-xl's layout: fp32 and fp16 weights, the original .pth, a README, tokenizer files. */
    private static final List<String> I2VGEN_XL = List.of("README.md", "i2vgen_xl_00854500.pth", "model_index.json",
            "feature_extractor/preprocessor_config.json",
            "image_encoder/config.json", "image_encoder/model.fp16.safetensors", "image_encoder/model.safetensors",
            "scheduler/scheduler_config.json",
            "text_encoder/config.json", "text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors",
            "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
            "unet/config.json", "unet/diffusion_pytorch_model.fp16.safetensors", "unet/diffusion_pytorch_model.safetensors",
            "unet/diffusion_pytorch_model.bin",
            "vae/config.json", "vae/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.safetensors");

    @TempDir
    Path dir;

    private CheckpointFolder index(String json) throws Exception {
        Files.writeString(dir.resolve("model_index.json"), json);
        return CheckpointFolder.open(dir);
    }

    private CheckpointFolder bundledIndex() throws Exception {
        Path tiny;
        try (var ref = dev.i2vgen.io.reference.ReferenceCase.bundled("tiny")) { tiny = ref.checkpoint(); }
        return index(Files.readString(tiny.resolve("model_index.json")));
    }

    @Test
    void fp16TakesTheFp16WeightsAndFp32ThePlainOnes() throws Exception {
        CheckpointFolder ckpt = bundledIndex();
        List<String> fp16 = PipelineFiles.select(ckpt, I2VGEN_XL, Variant.FP16, REPO);
        List<String> fp32 = PipelineFiles.select(ckpt, I2VGEN_XL, Variant.NONE, REPO);
        Set<String> configs = Set.of("feature_extractor/preprocessor_config.json", "image_encoder/config.json", "scheduler/scheduler_config.json",
                "text_encoder/config.json", "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json",
                "tokenizer/vocab.json", "unet/config.json", "vae/config.json");
        Set<String> expected16 = new TreeSet<>(configs);
        expected16.addAll(List.of("image_encoder/model.fp16.safetensors", "text_encoder/model.fp16.safetensors",
                "unet/diffusion_pytorch_model.fp16.safetensors", "vae/diffusion_pytorch_model.fp16.safetensors"));
        assertEquals(expected16, new TreeSet<>(fp16));
        Set<String> expected32 = new TreeSet<>(configs);
        expected32.addAll(List.of("image_encoder/model.safetensors", "text_encoder/model.safetensors",
                "unet/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors"));
        assertEquals(expected32, new TreeSet<>(fp32));
        assertTrue(fp16.indexOf("unet/config.json") < fp16.indexOf("unet/diffusion_pytorch_model.fp16.safetensors"), "configs first");
    }

    @Test
    void aComponentWithoutTheVariantFallsBackToItsPlainWeights() throws Exception {
        List<String> files = new ArrayList<>(I2VGEN_XL);
        files.remove("vae/diffusion_pytorch_model.fp16.safetensors");
        List<String> fp16 = PipelineFiles.select(bundledIndex(), files, Variant.FP16, REPO);
        assertTrue(fp16.contains("vae/diffusion_pytorch_model.safetensors") && fp16.contains("unet/diffusion_pytorch_model.fp16.safetensors"), fp16.toString());
    }

    @Test
    void aShardIndexIsChosenAsTheLoaderChoosesIt() throws Exception {
        List<String> files = new ArrayList<>(I2VGEN_XL);
        files.addAll(List.of("unet/diffusion_pytorch_model.safetensors.index.fp16.json", "unet/diffusion_pytorch_model.fp16-00001-of-00002.safetensors"));
        List<String> fp16 = PipelineFiles.select(bundledIndex(), files, Variant.FP16, REPO);
        assertTrue(fp16.contains("unet/diffusion_pytorch_model.safetensors.index.fp16.json"), fp16.toString());
        assertTrue(fp16.stream().noneMatch(f -> f.startsWith("unet/diffusion_pytorch_model.fp16")), "shards follow from the index: " + fp16);
        assertTrue(PipelineFiles.isShardIndex("unet/diffusion_pytorch_model.safetensors.index.fp16.json"));
        assertTrue(PipelineFiles.isShardIndex("text_encoder/model.fp16.safetensors.index.json"));
        assertTrue(!PipelineFiles.isShardIndex("unet/config.json"));
    }

    @Test
    void everyProblemIsReportedBeforeAnythingIsFetched() throws Exception {
        List<String> files = new ArrayList<>(I2VGEN_XL);
        files.removeIf(f -> f.startsWith("unet/") && f.endsWith(".safetensors"));
        files.remove("scheduler/scheduler_config.json");
        files.add("scheduler/notes.txt");
        files.removeIf(f -> f.startsWith("vae/"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> PipelineFiles.select(bundledIndex(), files, Variant.FP16, REPO));
        assertEquals(3, e.problems().size(), e.getMessage());
        String m = e.getMessage();
        assertTrue(m.contains("org/tiny@main/unet: no safetensors weights for variant fp16") && m.contains("diffusion_pytorch_model.bin"), m);
        assertTrue(m.contains("org/tiny@main/scheduler/scheduler_config.json: missing in the repository"), m);
        assertTrue(m.contains("org/tiny@main/vae: folder of component 'vae' (AutoencoderKL) is not in the repository"), m);
    }

    @Test
    void aPipelineThisLibraryDoesNotRunIsRefused() throws Exception {
        CheckpointFolder sd = index("{\"_class_name\": \"StableDiffusionPipeline\", \"unet\": [\"diffusers\", \"UNet2DConditionModel\"]}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> PipelineFiles.select(sd, I2VGEN_XL, Variant.NONE, REPO));
        assertTrue(e.getMessage().contains("StableDiffusionPipeline") && e.getMessage().contains("I2VGenXLPipeline"), e.getMessage());
    }

    @Test
    void theSameRulesHoldForAFolderAndAFileList() throws Exception {
        for (String f : List.of("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors", "diffusion_pytorch_model.ema.safetensors")) {
            Files.writeString(dir.resolve(f), "x");
        }
        Set<String> names = WeightFiles.fileNames(dir);
        for (Variant v : List.of(Variant.NONE, Variant.FP16, Variant.of("ema"), Variant.of("bf16"))) {
            assertEquals(WeightFiles.resolve(dir, "diffusers", v).getFileName().toString(), WeightFiles.choose(names, "diffusers", v).file(), v.toString());
        }
    }
}
