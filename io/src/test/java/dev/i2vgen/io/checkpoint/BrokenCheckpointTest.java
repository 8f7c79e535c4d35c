package dev.i2vgen.io.checkpoint;

import dev.i2vgen.io.reference.ReferenceCase;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Damaged copies of the bundled tiny checkpoint: validate() reports every problem, each naming its file. */
class BrokenCheckpointTest {
    @TempDir
    Path tmp;
    Path dir;

    @BeforeEach
    void copyTiny() throws IOException {
        Path src = ReferenceCase.bundled("tiny").checkpoint();
        dir = tmp.resolve("ckpt");
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : files.toList()) {
                Path target = dir.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }

    private static CheckpointProblem only(List<CheckpointProblem> problems) {
        assertEquals(1, problems.size(), problems.toString());
        return problems.get(0);
    }

    @Test
    void intactCopyIsValid() {
        assertEquals(List.of(), CheckpointFolder.open(dir).problems());
    }

    /** A folder object found valid stands for its files as validated: a loader given it does not read them all again. */
    @Test
    void aFolderFoundValidIsNotReadAgainButAFreshOneIs() throws IOException {
        CheckpointFolder checked = CheckpointFolder.open(dir).validate();
        Files.writeString(dir.resolve("tokenizer/vocab.json"), "{ not json");
        assertSame(checked, checked.validate(), "validated once");
        assertSame(checked, checked.validate(PipelineLayout.I2VGEN_XL));
        var wrongLoader = assertThrows(CheckpointException.class, () -> checked.validate(PipelineLayout.STABLE_VIDEO_DIFFUSION));
        assertTrue(wrongLoader.getMessage().contains("StableVideoDiffusionPipeline loader"), wrongLoader.getMessage());
        var e = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir).validate(), "a fresh open reads the files");
        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());
    }

    @Test
    void missingUnetFolder() throws IOException {
        deleteTree(dir.resolve("unet"));
        CheckpointFolder ckpt = CheckpointFolder.open(dir);
        CheckpointProblem p = only(ckpt.problems());
        assertEquals(dir.resolve("unet"), p.file());
        assertTrue(p.problem().contains("missing") && p.problem().contains("I2VGenXLUNet")
                && p.problem().contains("config.json"), p.problem());
        var e = assertThrows(CheckpointException.class, ckpt::validate);
        assertTrue(e.getMessage().contains(dir.resolve("unet").toString()), e.getMessage());
        var w = assertThrows(CheckpointException.class, () -> ckpt.component("unet").weights());
        assertTrue(w.getMessage().contains(dir.resolve("unet").toString()), w.getMessage());
    }

    @Test
    void corruptHeader() throws IOException {
        Path vae = dir.resolve("vae/diffusion_pytorch_model.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(vae.toFile(), "rw")) {
            raf.seek(8);
            raf.write("[[[[[[[[".getBytes()); // breaks the JSON header in place
        }
        CheckpointProblem p = only(CheckpointFolder.open(dir).problems());
        assertEquals(vae, p.file());
        assertTrue(p.problem().contains("not valid JSON"), p.problem());
    }

    @Test
    void missingConfig() throws IOException {
        Path config = dir.resolve("text_encoder/config.json");
        Files.delete(config);
        CheckpointFolder ckpt = CheckpointFolder.open(dir);
        CheckpointProblem p = only(ckpt.problems());
        assertEquals(config, p.file());
        assertTrue(p.problem().contains("missing file"), p.problem());
        var e = assertThrows(CheckpointException.class, () -> ckpt.component("text_encoder").config());
        assertTrue(e.getMessage().contains(config.toString()), e.getMessage());
    }

    /** A folder or a link loop where a file should be is named as such, not as a missing file. */
    @Test
    void whatStandsWhereAFileShouldBeIsNamed() throws IOException {
        Path config = dir.resolve("text_encoder/config.json");
        Files.delete(config);
        Files.createDirectory(config);
        CheckpointProblem p = only(CheckpointFolder.open(dir).problems());
        assertEquals(new CheckpointProblem(config, "is a folder, not a file (component 'text_encoder' needs it)"), p);

        Path index = dir.resolve("model_index.json");
        Files.delete(index);
        Files.createSymbolicLink(index, dir.resolve("loop.json"));
        Files.createSymbolicLink(dir.resolve("loop.json"), index);
        var e = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir));
        assertTrue(e.getMessage().startsWith(index + ": is a symbolic link that cannot be followed: "), e.getMessage());
        assertTrue(e.getMessage().endsWith(": a diffusers checkpoint folder needs model_index.json listing its components"), e.getMessage());
    }

    @Test
    void reportsAllProblemsAtOnce() throws IOException {
        deleteTree(dir.resolve("unet"));
        Files.delete(dir.resolve("scheduler/scheduler_config.json"));
        Files.writeString(dir.resolve("feature_extractor/preprocessor_config.json"), "{\"crop_size\": {\"height\": 32}}");
        Files.delete(dir.resolve("tokenizer/merges.txt"));
        Files.writeString(dir.resolve("image_encoder/config.json"), "{not json");
        Files.delete(dir.resolve("text_encoder/model.safetensors"));
        var e = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir).validate());
        List<Path> files = e.problems().stream().map(CheckpointProblem::file).toList();
        assertEquals(List.of(dir.resolve("text_encoder"), dir.resolve("tokenizer"), dir.resolve("unet"),
                dir.resolve("scheduler/scheduler_config.json"), dir.resolve("image_encoder/config.json"),
                dir.resolve("feature_extractor/preprocessor_config.json")).stream().sorted().toList(),
                files.stream().sorted().toList(), e.getMessage());
        assertTrue(e.getMessage().startsWith("6 problems"), e.getMessage());
        String text = e.getMessage();
        assertTrue(text.contains("model.safetensors"), "lists the expected weight names: " + text);
        assertTrue(text.contains("vocab.json and merges.txt"), text);
        assertTrue(text.contains("crop_size"), text);
    }

    @Test
    void modelIndexProblems() throws IOException {
        Path index = dir.resolve("model_index.json");
        Files.writeString(index, Files.readString(index).replace("\"unet\"", "\"unet_renamed\""));
        var problems = CheckpointFolder.open(dir).problems();
        assertTrue(problems.stream().anyMatch(p -> p.file().equals(index) && p.problem().contains("'unet' is missing")), problems.toString());
        // The renamed entry points at a folder that does not exist.
        assertTrue(problems.stream().anyMatch(p -> p.file().equals(dir.resolve("unet_renamed"))), problems.toString());

        Files.writeString(index, "[1, 2]");
        var e = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir));
        assertTrue(e.getMessage().contains(index.toString()) && e.getMessage().contains("not a JSON object"), e.getMessage());

        Files.delete(index);
        var e2 = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir));
        assertTrue(e2.getMessage().contains(index.toString()) && e2.getMessage().contains("missing"), e2.getMessage());

        var e3 = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(tmp.resolve("nowhere")));
        assertTrue(e3.getMessage().contains("nowhere"), e3.getMessage());
    }

    @Test
    void componentNamesMustBePlainFolderNames() throws IOException {
        Path index = dir.resolve("model_index.json");
        Files.writeString(index, "{\"_class_name\": \"I2VGenXLPipeline\", \"../evil\": [\"diffusers\", \"AutoencoderKL\"],"
                + " \"vae\": [\"diffusers\"]}");
        var e = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir));
        assertEquals(2, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("'../evil'") && e.getMessage().contains("'vae' must be [library, class]"), e.getMessage());

        Files.writeString(index, "{\"_class_name\": \"I2VGenXLPipeline\", \"un\\u0000et\": [\"diffusers\", \"I2VGenXLUNet\"]}");
        var e2 = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir));
        assertTrue(e2.getMessage().contains("is not a plain folder name"), e2.getMessage());
    }

    @Test
    void classNameMismatchBetweenIndexAndConfig() throws IOException {
        Path config = dir.resolve("vae/config.json");
        Files.writeString(config, Files.readString(config).replace("\"AutoencoderKL\"", "\"AutoencoderTiny\""));
        CheckpointProblem p = only(CheckpointFolder.open(dir).problems());
        assertEquals(config, p.file());
        assertTrue(p.problem().contains("AutoencoderTiny") && p.problem().contains("AutoencoderKL"), p.problem());
    }

    @Test
    void unknownComponentNameIsReported() {
        var e = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir).component("transformer"));
        assertTrue(e.getMessage().contains("'transformer'") && e.getMessage().contains("unet"), e.getMessage());
    }

    private void setPipelineClass(String json) throws IOException {
        Path index = dir.resolve("model_index.json");
        Files.writeString(index, Files.readString(index).replace("\"I2VGenXLPipeline\"", json));
    }

    @Test
    void anotherPipelinesClassIsRefused() throws IOException {
        Path index = dir.resolve("model_index.json");
        setPipelineClass("\"StableDiffusionPipeline\"");
        CheckpointProblem p = only(CheckpointFolder.open(dir).problems());
        assertEquals(index, p.file());
        assertEquals("'_class_name' is 'StableDiffusionPipeline': the pipeline class, one of I2VGenXLPipeline, StableVideoDiffusionPipeline",
                p.problem());
        var layout = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir).layout());
        assertEquals(index + ": " + p.problem(), layout.getMessage());

        Files.writeString(index, Files.readString(index).replace("\"StableDiffusionPipeline\"", "5"));
        var number = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir));
        assertEquals(index + ": '_class_name' must be a string, got 5", number.getMessage());
    }

    @Test
    void componentsOfAnotherPipelineAreRefused() throws IOException {
        Path index = dir.resolve("model_index.json");
        // The I2VGen-XL folders under StableVideoDiffusionPipeline: its VAE and UNet classes are not SVD's.
        setPipelineClass("\"StableVideoDiffusionPipeline\"");
        var problems = CheckpointFolder.open(dir).problems();
        assertEquals(List.of(
                new CheckpointProblem(index, "component 'vae' is AutoencoderKL; StableVideoDiffusionPipeline needs AutoencoderKLTemporalDecoder (is this another pipeline's checkpoint?)"),
                new CheckpointProblem(index, "component 'unet' is I2VGenXLUNet; StableVideoDiffusionPipeline needs UNetSpatioTemporalConditionModel (is this another pipeline's checkpoint?)")),
                problems);
    }

    @Test
    void aLoaderRefusesAnotherPipelinesCheckpoint() {
        var e = assertThrows(CheckpointException.class, () -> CheckpointFolder.open(dir).validate(PipelineLayout.STABLE_VIDEO_DIFFUSION));
        assertEquals(dir.resolve("model_index.json"), e.problems().get(0).file());
        assertEquals("'_class_name' is 'I2VGenXLPipeline', but this is the StableVideoDiffusionPipeline loader", e.problems().get(0).problem());
        CheckpointFolder.open(dir).validate(PipelineLayout.I2VGEN_XL);
    }

    @Test
    void aBadPreprocessorValueNamesTheFileAndKey() throws IOException {
        Path config = dir.resolve("feature_extractor/preprocessor_config.json");
        Files.writeString(config, Files.readString(config).replace("\"resample\": 3", "\"resample\": 3.5"));
        CheckpointProblem p = only(CheckpointFolder.open(dir).problems());
        assertEquals(config, p.file());
        assertEquals("'resample' must be an integer, got 3.5", p.problem());
    }

    /** The unet folder keeps its config and holds {@code what} instead of weights. */
    private String weightsProblemWith(String what) throws IOException {
        Path unet = dir.resolve("unet");
        Files.delete(unet.resolve("diffusion_pytorch_model.safetensors"));
        switch (what) {
            case "folder" -> Files.createDirectory(unet.resolve("diffusion_pytorch_model.safetensors"));
            case "loop" -> {
                Files.createSymbolicLink(unet.resolve("diffusion_pytorch_model.safetensors"), unet.resolve("loop.safetensors"));
                Files.createSymbolicLink(unet.resolve("loop.safetensors"), unet.resolve("diffusion_pytorch_model.safetensors"));
            }
            case "pickle" -> Files.write(unet.resolve("diffusion_pytorch_model.bin"), new byte[16]);
            default -> { }
        }
        CheckpointFolder ckpt = CheckpointFolder.open(dir);
        CheckpointProblem p = only(ckpt.problems());
        assertEquals(unet, p.file());
        assertTrue(p.problem().startsWith("no safetensors weights; expected one of [diffusion_pytorch_model.safetensors.index.json,"), p.problem());
        var e = assertThrows(CheckpointException.class, () -> ckpt.component("unet").weights());
        String detail = p.problem().substring(p.problem().lastIndexOf("; ") + 2);
        assertTrue(e.getMessage().endsWith("; " + detail), "resolving the weights says the same: " + e.getMessage());
        return detail;
    }

    @Test
    void aWeightsFolderWithoutWeightsSaysWhatItHolds() throws IOException {
        assertEquals("found diffusion_pytorch_model.safetensors/ (a folder, not a file)", weightsProblemWith("folder"));
    }

    @Test
    void aWeightsSymlinkLoopIsNamed() throws IOException {
        String found = weightsProblemWith("loop");
        assertTrue(found.matches("found diffusion_pytorch_model.safetensors \\(a symbolic link that cannot be followed: Too many levels of symbolic links[^)]*\\),"
                + " loop.safetensors \\(a symbolic link that cannot be followed: Too many levels of symbolic links[^)]*\\)"), found);
    }

    @Test
    void pytorchPicklesAreNamedWithWhatToDo() throws IOException {
        assertEquals("found diffusion_pytorch_model.bin (PyTorch pickle weights, not read: convert them to safetensors)", weightsProblemWith("pickle"));
    }

    @Test
    void anEmptyWeightsFolderSaysSo() throws IOException {
        assertEquals("the folder holds nothing else", weightsProblemWith("nothing"));
    }
}
