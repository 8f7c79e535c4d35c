package dev.i2vgen.model.vae;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.i2vgen.graph.TaskGraph;
import dev.i2vgen.model.clip.ReleasedLayout;
import dev.i2vgen.io.config.JsonConfig;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Full-size VAE graphs (704×1280) against the released checkpoint's tensor names and shapes (graph building only). */
class ReleasedVaeLayoutTest {
    @Test
    void encodeAndDecodeUseEveryReleasedTensorWithTheSpecShapes() throws Exception {
        VaeConfig cfg = VaeConfig.fromJson(new JsonConfig(new ObjectMapper().readTree("""
                {"block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "norm_num_groups": 32,
                 "latent_channels": 4, "scaling_factor": 0.18125,
                 "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
                 "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]}"""), "released vae"));
        ReleasedLayout layout = ReleasedLayout.of("vae");
        AutoencoderKL vae = new AutoencoderKL(cfg, layout);

        TaskGraph enc = new TaskGraph("enc", DType.F32);
        AutoencoderKL.Moments m = vae.encode(enc, enc.input("image", DType.F32, 1, 3, 704, 1280));
        enc.output("mean", m.mean());
        enc.output("logvar", m.logvar());
        assertArrayEquals(new int[]{1, 4, 88, 160}, m.mean().shape());

        TaskGraph dec = new TaskGraph("dec", DType.F32);
        var video = dec.output("video", vae.decodeScaledLatents(dec, dec.input("z", DType.F32, 1, 4, 88, 160)));
        assertArrayEquals(new int[]{1, 3, 704, 1280}, video.shape());

        assertEquals(Set.of(), layout.unused(enc.freeze(), dec.freeze()));
    }
}
