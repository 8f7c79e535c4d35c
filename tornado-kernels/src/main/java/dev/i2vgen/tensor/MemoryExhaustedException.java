package dev.i2vgen.tensor;

/**
 * An allocation the host (Java heap or native memory) or a device could not make, named by what it was for and how
 * many bytes it asked: Java's {@link OutOfMemoryError} or a device's out-of-memory code, turned into a message a
 * caller can act on (a smaller size, fewer frames decoded at once, a 16-bit dtype). The layer that knows what the
 * memory was for adds it with {@link #allocating}.
 */
public final class MemoryExhaustedException extends RuntimeException {
    /** Which memory ran out. */
    public enum Memory { HOST, DEVICE }

    private final Memory memory;
    private final String subject;
    private final long bytes;
    private final String detail;

    private MemoryExhaustedException(Memory memory, String subject, long bytes, String detail, Throwable cause) {
        super(message(memory, subject, bytes, detail), cause);
        this.memory = memory;
        this.subject = subject;
        this.bytes = bytes;
        this.detail = detail;
    }

    /** Host memory: {@code cause} is the JVM's error (its message says which limit: heap or direct memory). */
    public static MemoryExhaustedException host(String subject, long bytes, OutOfMemoryError cause) {
        String limit = "max heap " + bytes(Runtime.getRuntime().maxMemory());
        String why = cause.getMessage();
        return new MemoryExhaustedException(Memory.HOST, subject, bytes, why == null ? limit : why + "; " + limit, cause);
    }

    /** Device memory: {@code detail} is the driver's error; the subject is added by the caller that knows it. */
    public static MemoryExhaustedException device(long bytes, String detail) {
        return new MemoryExhaustedException(Memory.DEVICE, null, bytes, detail, null);
    }

    /** This failure with what the memory was for, unless a deeper layer already said it. */
    public MemoryExhaustedException allocating(String what) {
        if (subject != null) return this;
        MemoryExhaustedException e = new MemoryExhaustedException(memory, what, bytes, detail, getCause());
        e.setStackTrace(getStackTrace());
        return e;
    }

    public Memory memory() { return memory; }

    /** What the memory was for, or null where no layer said. */
    public String subject() { return subject; }

    /** The bytes asked for, or -1 where unknown. */
    public long bytes() { return bytes; }

    /** {@code n} bytes in binary units with one decimal ("1.5 GiB"). */
    public static String bytes(long n) {
        if (n < 1024) return n + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    private static String message(Memory memory, String subject, long bytes, String detail) {
        return "out of " + (memory == Memory.HOST ? "host" : "device") + " memory"
                + (bytes >= 0 ? " allocating " + bytes(bytes) : "") + (subject != null ? " for " + subject : "")
                + (detail != null && !detail.isEmpty() ? " (" + detail + ")" : "");
    }
}
