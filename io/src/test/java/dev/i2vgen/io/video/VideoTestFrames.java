package dev.i2vgen.io.video;

import dev.i2vgen.io.image.RgbImage;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Smooth random frames (random low-frequency waves) that lossy codecs can reproduce closely. */
final class VideoTestFrames {
    private VideoTestFrames() {}

    static List<RgbImage> smooth(int count, int w, int h, long seed) {
        Random r = new Random(seed);
        List<RgbImage> frames = new ArrayList<>();
        double[][] p = new double[3][4];
        for (double[] c : p) for (int k = 0; k < 4; k++) c[k] = r.nextDouble();
        for (int f = 0; f < count; f++) {
            byte[] d = new byte[w * h * 3];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++) {
                        double v = 128 + 70 * Math.sin(2 * Math.PI * (p[c][0] * x / w + p[c][1] * y / h + 0.05 * f) + 6 * p[c][2])
                                + 30 * Math.cos(2 * Math.PI * p[c][3] * (x + y) / (w + h));
                        d[(y * w + x) * 3 + c] = (byte) Math.max(0, Math.min(255, (int) Math.round(v)));
                    }
            frames.add(RgbImage.of(w, h, d));
        }
        return frames;
    }

    static RgbImage solid(int w, int h, int r, int g, int b) {
        byte[] d = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            d[i * 3] = (byte) r;
            d[i * 3 + 1] = (byte) g;
            d[i * 3 + 2] = (byte) b;
        }
        return RgbImage.of(w, h, d);
    }

    static double meanAbs(RgbImage a, RgbImage b) {
        byte[] x = a.toByteArray(), y = b.toByteArray();
        if (x.length != y.length) throw new AssertionError("sizes differ: " + a + " vs " + b);
        double s = 0;
        for (int i = 0; i < x.length; i++) s += Math.abs((x[i] & 0xFF) - (y[i] & 0xFF));
        return s / x.length;
    }

    /** A frame list that passes the up-front checks but fails the second time frame {@code failAt} is read (a producer failing mid-write). */
    static List<RgbImage> failingOnSecondRead(List<RgbImage> frames, int failAt) {
        return new AbstractList<>() {
            int reads;
            @Override public RgbImage get(int i) {
                if (i == failAt && ++reads == 2) throw new IllegalStateException("simulated failure reading frame " + i);
                return frames.get(i);
            }
            @Override public int size() { return frames.size(); }
        };
    }
}
