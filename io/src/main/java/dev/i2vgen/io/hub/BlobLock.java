package dev.i2vgen.io.hub;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The lock of one blob ({@code <cache>/.locks/models--org--name/<etag>.lock}), held while the blob is downloaded and
 * linked, so that processes sharing the cache download each file once. On Linux it is the lock huggingface_hub takes
 * (the {@code filelock} package: {@code flock(2)} on the lock file, created with mode 0664), so Java and Python
 * processes exclude each other; each holder opens the file itself, so threads of one process exclude each other too.
 * Elsewhere (or where the file system refuses {@code flock}) a {@link FileChannel} lock, held by one thread of the
 * process at a time.
 */
final class BlobLock implements AutoCloseable {
    private static final long POLL_MILLIS = 100;
    private static final Flock FLOCK = Flock.load();
    /** For the FileChannel fallback, whose locks belong to the whole JVM. */
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    private final int fd;
    private final FileChannel channel;
    private final FileLock channelLock;
    private final ReentrantLock inProcess;
    private boolean closed;

    private BlobLock(int fd, FileChannel channel, FileLock channelLock, ReentrantLock inProcess) {
        this.fd = fd;
        this.channel = channel;
        this.channelLock = channelLock;
        this.inProcess = inProcess;
    }

    /** Waits for and takes the lock; {@code onWait} runs once if another holder makes it wait. */
    static BlobLock acquire(Path lockFile, Runnable onWait) throws IOException {
        Files.createDirectories(lockFile.getParent());
        if (FLOCK != null) {
            BlobLock lock = FLOCK.acquire(lockFile, onWait);
            if (lock != null) return lock;
        }
        return acquireChannelLock(lockFile, onWait);
    }

    private static BlobLock acquireChannelLock(Path lockFile, Runnable onWait) throws IOException {
        ReentrantLock local = IN_PROCESS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), p -> new ReentrantLock());
        if (!local.tryLock()) {
            onWait.run();
            local.lock();
        }
        try {
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                FileLock l = channel.tryLock();
                if (l == null) {
                    onWait.run();
                    l = channel.lock();
                }
                return new BlobLock(-1, channel, l, local);
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            local.unlock();
            throw e;
        }
    }

    /** Releases the lock; again is a no-op (the descriptor must not be closed twice: its number may be reused). */
    @Override
    public synchronized void close() throws IOException {
        if (closed) return;
        closed = true;
        if (fd >= 0) {
            FLOCK.release(fd);
            return;
        }
        try {
            channelLock.release();
            channel.close();
        } finally {
            inProcess.unlock();
        }
    }

    /** {@code open}, {@code flock} and {@code close} of the C library, through FFM. */
    private record Flock(MethodHandle open, MethodHandle flock, MethodHandle close, VarHandle errnoHandle, StructLayout capture) {
        // Linux values (the same on x86-64 and AArch64).
        static final int O_RDWR = 2, O_CREAT = 0100, O_CLOEXEC = 02000000, MODE = 0664;
        static final int LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8, EWOULDBLOCK = 11, EINTR = 4;

        static Flock load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) return null;
            try {
                Linker linker = Linker.nativeLinker();
                var libc = linker.defaultLookup();
                StructLayout capture = Linker.Option.captureStateLayout();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                MethodHandle open = linker.downcallHandle(libc.find("open").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), errno);
                MethodHandle flock = linker.downcallHandle(libc.find("flock").orElseThrow(),
                        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), errno);
                MethodHandle close = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
                return new Flock(open, flock, close, capture.varHandle(MemoryLayout.PathElement.groupElement("errno")), capture);
            } catch (RuntimeException | LinkageError e) {
                return null;   // no native access (or no such symbols): the FileChannel lock
            }
        }

        /** The flock'd lock, or null when this file system refuses flock (then the caller falls back). */
        BlobLock acquire(Path lockFile, Runnable onWait) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(capture);
                MemorySegment path = arena.allocateFrom(lockFile.toAbsolutePath().toString());
                int fd = (int) open.invokeExact(state, path, O_RDWR | O_CREAT | O_CLOEXEC, MODE);
                if (fd < 0) throw new IOException(lockFile + ": cannot open the lock file (errno " + errno(state) + ")");
                boolean waited = false;
                while (true) {
                    int rc = (int) flock.invokeExact(state, fd, LOCK_EX | LOCK_NB);
                    if (rc == 0) return new BlobLock(fd, null, null, null);
                    int err = errno(state);
                    if (err == EINTR) continue;
                    if (err != EWOULDBLOCK) {
                        int ignored = (int) close.invokeExact(fd);
                        return null;
                    }
                    if (!waited) {
                        waited = true;
                        onWait.run();
                    }
                    try {
                        Thread.sleep(POLL_MILLIS);
                    } catch (InterruptedException e) {
                        int ignored = (int) close.invokeExact(fd);
                        Thread.currentThread().interrupt();
                        throw new IOException(lockFile + ": interrupted while waiting for the lock", e);
                    }
                }
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("calling flock failed", t);
            }
        }

        void release(int fd) throws IOException {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment state = arena.allocate(capture);
                int ignored = (int) flock.invokeExact(state, fd, LOCK_UN);
                if ((int) close.invokeExact(fd) != 0) throw new IOException("closing the lock file failed");
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("calling flock failed", t);
            }
        }

        private int errno(MemorySegment state) { return (int) errnoHandle.get(state, 0L); }
    }
}
