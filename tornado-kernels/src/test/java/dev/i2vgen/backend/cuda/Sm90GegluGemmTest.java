package dev.i2vgen.backend.cuda;

import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Off the GPU: the fused GEGLU kernel's launch geometry and TMA descriptors agree with geglu_sm90.cu and the driver's rules. */
class Sm90GegluGemmTest {
    private static final String SOURCE = KernelSources.resource("geglu_sm90.cu");

    private static int define(String name) {
        Matcher m = Pattern.compile("#define " + name + " (\\d+)").matcher(SOURCE);
        assertTrue(m.find(), "geglu_sm90.cu defines no " + name);
        return Integer.parseInt(m.group(1));
    }

    @Test
    void theJavaConstantsAreTheKernels() {
        assertTrue(SOURCE.contains(" " + Sm90GegluGemm.KERNEL + "("), "geglu_sm90.cu does not build " + Sm90GegluGemm.KERNEL);
        assertEquals(define("G9_BM"), Sm90GegluGemm.BM);
        assertEquals(define("G9_BN"), Sm90GegluGemm.BN);
        assertEquals(define("G9_BK"), Sm90GegluGemm.BK);
        assertEquals(define("G9_STAGES"), Sm90GegluGemm.STAGES);
        assertTrue(SOURCE.contains("__launch_bounds__(" + Sm90GegluGemm.THREADS + ", 1)"), "the block size differs from the kernel's launch bounds");
        assertEquals(define("G9_PRODUCER_REGS"), Sm90GegluGemm.PRODUCER_REGISTERS);
        assertEquals(define("G9_CONSUMER_REGS"), Sm90GegluGemm.CONSUMER_REGISTERS);
    }

    @Test
    void theSetmaxnregSplitNeedsTheLaunchBoundsRegisters() {
        // 384 threads at one block per SM: ptxas's maximum is 168 (65,536 / 384 rounded down to 8)
        assertTrue(Sm90GegluGemm.registersSuffice(168));
        assertTrue(!Sm90GegluGemm.registersSuffice(160), "160 x 384 cannot hold 128 x 40 + 256 x 232: setmaxnreg.inc would wait forever");
    }

    @Test
    void oneStageIsWhatItsTmaBoxesDeliverAndTheBlockFitsAnSm() {
        TensorMap2d[] maps = Sm90GegluGemm.tensorMaps(DType.F16, 1 << 20, 1 << 24, 450_560, 320, 1280);
        // the kernel's full barrier expects one x box and two weight boxes (value rows, gate rows) per stage
        assertEquals(Sm90GegluGemm.stageBytes(), maps[0].boxBytes() + 2 * maps[1].boxBytes());
        assertEquals(32768, Sm90GegluGemm.stageBytes());
        assertTrue(Sm90GegluGemm.sharedBytes() <= 227 * 1024, "more than a block's 227 KB of shared memory: " + Sm90GegluGemm.sharedBytes());
    }

    @Test
    void tilesCoverTheOutputAndTheGridIsPersistent() {
        assertEquals(3520L * 20, Sm90GegluGemm.tiles(450_560, 1280), "level 0: 128-row by 64-column tiles");
        assertEquals(3L * 80, Sm90GegluGemm.tiles(300, 5120), "a row tail takes a tile of its own");
        assertEquals(132, Sm90GegluGemm.grid(70_400, 132));
        assertEquals(3, Sm90GegluGemm.grid(3, 132), "no block without a tile");
    }

    @Test
    void tensorMapsFollowTheDriversRules() {
        TensorMap2d x = TensorMap2d.dense(DType.BF16, 0x7f00_0000_0000L, 1280, 28_160, 64, 128);
        assertEquals(2560, x.rowBytes());
        assertEquals(TensorMap2d.DATA_TYPE_BFLOAT16, x.dataType());
        assertThrows(IllegalArgumentException.class, () -> TensorMap2d.dense(DType.F16, 0x1008, 320, 100, 64, 128), "8-byte aligned base");
        assertThrows(IllegalArgumentException.class, () -> TensorMap2d.dense(DType.F16, 0x1000, 100, 100, 64, 128), "rows of 200 bytes");
        assertThrows(IllegalArgumentException.class, () -> TensorMap2d.dense(DType.F16, 0x1000, 320, 100, 128, 128), "a 256-byte box row");
        assertThrows(IllegalArgumentException.class, () -> TensorMap2d.dense(DType.F16, 0x1000, 320, 100, 64, 512), "512 box rows");
        assertThrows(IllegalArgumentException.class, () -> TensorMap2d.dense(DType.F32, 0x1000, 320, 100, 64, 128), "fp32");
    }
}
