package dev.i2vgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.io.image.ImageLoader;
import dev.i2vgen.io.image.RgbImage;
import dev.i2vgen.io.video.PngFramesWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --devices}: refused before any work where it cannot run (exit code 2, the option named); on the JVM backend
 * ({@code --device jvm --devices 0,1}: two JVM backends, the whole CFG-parallel orchestration) {@code generate} makes
 * the one-device video and {@code bench} prints CFG-parallel against one device.
 */
class DevicesOptionTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--devices 0,1,2|--devices takes one device ordinal or two (CFG-parallel runs one half of the guidance batch on each), got 3",
            "--devices -1|--devices: device ordinals are 0 or more, got -1",
            "--devices 0,x|--devices",
            "--device opencl --devices 0,1|--devices is for --device cuda (or jvm, to test the two-device run on the CPU)",
    })
    void devicesItCannotRunAreRefusedBeforeAnyWork(String options, String message, @TempDir Path tmp) {
        for (String command : List.of("generate", "bench")) {
            List<String> args = new ArrayList<>(List.of(command));
            args.addAll(List.of(options.split(" ")));
            if (command.equals("generate")) args.addAll(List.of("--output", tmp.resolve("o.gif").toString()));
            else args.addAll(List.of("--small", "--pipeline-repeats", "0"));
            CommandLineTest.Result r = CommandLineTest.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), command + " " + options + ": " + r.err());
            assertTrue(r.err().contains(message), command + " " + options + ": " + r.err());
            assertFalse(Files.exists(tmp.resolve("o.gif")));
        }
    }

    @Test
    void helpDocumentsTheOption() {
        for (String command : List.of("generate", "bench")) {
            CommandLineTest.Result r = CommandLineTest.run(command, "--help");
            assertEquals(0, r.code());
            assertTrue(r.out().contains("--devices=N[,N]") && r.out().contains("CFG-parallel"), command + " --help:\n" + r.out());
        }
        var args = GenerateArguments.parse(List.of("--devices", "0,1", "--output", "x.gif"));
        assertFalse(args.videoParameters().contains("devices"), "the devices do not change the video: " + args.videoParameters());
    }

    @Test
    void twoJvmDevicesMakeTheOneDeviceVideo(@TempDir Path tmp) throws Exception {
        Path one = tmp.resolve("one/"), two = tmp.resolve("two/");
        CommandLineTest.Result a = CommandLineTest.run("generate", "--device", "jvm", "--seed", "5", "--output", one + "/");
        assertEquals(0, a.code(), a.err());
        CommandLineTest.Result b = CommandLineTest.run("generate", "--device", "jvm", "--devices", "0,1", "--seed", "5", "--output", two + "/");
        assertEquals(0, b.code(), b.err());
        assertTrue(b.err().contains("CFG-parallel: unconditional half on jvm:0, conditional half on jvm:1"), b.err());
        int frames = 0, largest = 0;
        for (int i = 0; Files.exists(one.resolve(PngFramesWriter.frameName(i))); i++, frames++) {
            RgbImage x = ImageLoader.read(one.resolve(PngFramesWriter.frameName(i))), y = ImageLoader.read(two.resolve(PngFramesWriter.frameName(i)));
            byte[] p = x.toByteArray(), q = y.toByteArray();
            assertEquals(p.length, q.length);
            for (int k = 0; k < p.length; k++) largest = Math.max(largest, Math.abs((p[k] & 0xff) - (q[k] & 0xff)));
        }
        assertEquals(4, frames, "the demo's frames");
        // the float frames agree to ~1e-6 (CfgParallelPipelineTest); 8-bit rounding may flip a value by one
        assertTrue(largest <= 1, "frames differ by up to " + largest);
    }

    @Test
    void benchComparesTwoDevicesWithOne(@TempDir Path tmp) throws Exception {
        Path json = tmp.resolve("bench.json");
        CommandLineTest.Result r = CommandLineTest.run("bench", "--small", "--device", "jvm", "--devices", "0,1", "--dtype", "fp32",
                "--warmup", "0", "--repeats", "1", "--pipeline-steps", "2", "--json", json.toString());
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(r.out().contains("CFG-parallel on jvm:0 + jvm:1 against the first device alone:"), r.out());
        for (String row : List.of("unet_step_half", "pipeline_2_steps_cfg_parallel", "UNet step in the loop (CFG)", "denoising loop",
                "whole video", "the split's ceiling")) {
            assertTrue(r.out().contains(row), "output lacks " + row + ":\n" + r.out());
        }
        JsonNode cfg = new ObjectMapper().readTree(Files.readString(json)).get("cfg_parallel");
        assertEquals("jvm:0 + jvm:1", cfg.get("devices").asText());
        for (String key : List.of("unet_step_in_loop", "denoise", "whole_video")) {
            JsonNode n = cfg.get(key);
            assertTrue(n.get("one_device_s").asDouble() > 0 && n.get("two_devices_s").asDouble() > 0, n.toString());
            assertEquals(n.get("one_device_s").asDouble() / n.get("two_devices_s").asDouble(), n.get("speedup").asDouble(), 1e-9);
        }
        assertTrue(cfg.get("denoise").has("meets_goal"), cfg.toString());
        assertTrue(cfg.get("ceiling_speedup").asDouble() > 0, cfg.toString());
    }
}
