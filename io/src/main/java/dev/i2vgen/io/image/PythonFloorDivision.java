package dev.i2vgen.io.image;

/**
 * Python's float floor division {@code a // b}, which floors the <em>exact</em> quotient: e.g.
 * {@code 704 // 0.55 == 1279.0} although {@code 704 / 0.55} rounds to exactly 1280.0 in doubles.
 * Same steps as CPython's float_floor_div (fmod, then correct the quotient).
 */
public final class PythonFloorDivision {
    private PythonFloorDivision() {}

    public static double floorDiv(double a, double b) {
        if (b == 0.0) throw new ArithmeticException("float floor division by zero");
        double mod = a % b; // Java's % on doubles is C fmod: exact, sign of a
        double div = (a - mod) / b;
        if (mod != 0.0 && ((b < 0) != (mod < 0))) {
            div -= 1.0;
        }
        if (div == 0.0) return Math.copySign(0.0, a / b);
        double floor = Math.floor(div);
        if (div - floor > 0.5) floor += 1.0;
        return floor;
    }
}
