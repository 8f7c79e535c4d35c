package dev.i2vgen.io.image;

/** Pillow's resampling kernels: the weight function and its support radius (in source pixels at scale 1). */
public enum ResampleFilter {
    /** Box of half-open interval (−0.5, 0.5] — the side Pillow ≥ 7 uses; it matters on exact ties. */
    BOX(0.5) {
        @Override public double weight(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }
    },
    /** Triangle; with a shrink it is stretched, i.e. an antialiasing filter, not 4-tap interpolation. */
    BILINEAR(1.0) {
        @Override public double weight(double x) {
            double a = Math.abs(x);
            return a < 1.0 ? 1.0 - a : 0.0;
        }
    },
    /** Keys cubic with a = −0.5, evaluated in the same operation order as Pillow (bit-identical doubles). */
    BICUBIC(2.0) {
        @Override public double weight(double x) {
            final double a = -0.5;
            double t = Math.abs(x);
            if (t < 1.0) return ((a + 2.0) * t - (a + 3.0)) * t * t + 1;
            if (t < 2.0) return (((t - 5) * t + 8) * t - 4) * a;
            return 0.0;
        }
    },
    /**
     * Lanczos-3 (windowed sinc), Pillow's {@code ANTIALIAS}/{@code LANCZOS}: half-open window [−3, 3).
     * Same operation order as Pillow's C ({@code x·π} first, then {@code sin(x)/x}) so the doubles
     * agree before Pillow quantises the normalised weights.
     */
    LANCZOS(3.0) {
        @Override public double weight(double x) {
            return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
        }
    };

    /** sin(πx)/(πx); StrictMath so the value does not depend on the JVM's intrinsic. */
    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        double px = x * Math.PI;
        return StrictMath.sin(px) / px;
    }

    private final double support;

    ResampleFilter(double support) { this.support = support; }

    public double support() { return support; }

    public abstract double weight(double x);
}
