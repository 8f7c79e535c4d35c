package dev.i2vgen.backend.cuda;

import dev.i2vgen.backend.PlanLink;
import dev.i2vgen.graph.Value;
import dev.i2vgen.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.util.logging.Logger;

/**
 * A {@link PlanLink} between two CUDA plans, without the host in the way: the copy is enqueued on the source's stream
 * after the source's runs so far. Where the plans are on two streams, events order it both ways and nobody waits on
 * the host: before the copy the source's stream waits for an event recorded on the target's stream (the target's
 * earlier runs may still read the binding, or the staging buffer, that the copy overwrites); after it the target's
 * stream waits for an event recorded behind the copy, so the target's next run reads the new value.
 * <p>The route ({@link Route#choose}): the same stream (one backend) or two streams of one context copy with the
 * {@code convert} kernel; two contexts copy with {@code cuMemcpyPeerAsync} (two GPUs with peer access enabled both
 * ways, or two contexts of one GPU); GPUs that cannot reach each other ({@code cuDeviceCanAccessPeer} says no) stage
 * through page-locked host memory: device to host on the source's stream, host to device on the target's.
 * {@code -Di2vgen.cuda.link=host} stages every link between two backends through the host (A/B runs, and tests of
 * that path on one GPU). Outputs and inputs of different dtypes are converted on the target's device.
 */
final class CudaPlanLink implements PlanLink {
    private static final Logger LOG = Logger.getLogger(CudaPlanLink.class.getName());
    static final String ROUTE_PROPERTY = "i2vgen.cuda.link";

    enum Route {
        SAME_STREAM("on the device (one stream)"),
        SAME_CONTEXT("on the device (two streams of one context)"),
        PEER("CUDA peer copy"),
        HOST_STAGED("staged through page-locked host memory");

        final String words;

        Route(String words) { this.words = words; }

        /** The route between plans of {@code from} and {@code to} (enables peer access where the GPUs allow it). */
        static Route choose(CudaBackend from, CudaBackend to) {
            if (from == to) return SAME_STREAM;
            String setting = System.getProperty(ROUTE_PROPERTY, "auto");
            if (!setting.equals("auto") && !setting.equals("host")) {
                throw new IllegalArgumentException("-D" + ROUTE_PROPERTY + " must be auto or host, got '" + setting + "'");
            }
            if (setting.equals("host")) return HOST_STAGED;
            if (from.context.address() == to.context.address()) return SAME_CONTEXT;
            if (from.device == to.device) return PEER;   // two contexts of one GPU: the peer copy stays on it
            return enablePeerAccess(from, to) ? PEER : HOST_STAGED;
        }
    }

    private final CudaExecutionPlan source, target;
    private final Value output, input;
    private final Route route;
    private final CudaDriver driver;
    /** Recorded on the target's stream before each copy, waited for by the source's (null on one stream). */
    private final MemorySegment targetIdle;
    /** Recorded on the source's stream behind each copy, waited for by the target's (null on one stream). */
    private final MemorySegment copied;
    private MemorySegment pinned;   // HOST_STAGED: page-locked host buffer
    private long landing;           // converting links between contexts: the source's dtype on the target's device
    private boolean closed;

    private CudaPlanLink(CudaExecutionPlan source, Value output, CudaExecutionPlan target, Value input, Route route) {
        this.source = source;
        this.output = output;
        this.target = target;
        this.input = input;
        this.route = route;
        this.driver = source.backend().driver;
        if (route == Route.SAME_STREAM) {
            targetIdle = copied = null;
        } else {
            driver.setCurrent(target.backend().context);   // an event is recorded on streams of its own context
            targetIdle = driver.createOrderingEvent();
            driver.setCurrent(source.backend().context);
            copied = driver.createOrderingEvent();
        }
    }

    static CudaPlanLink open(CudaExecutionPlan source, Value output, CudaExecutionPlan target, Value input, Route route) {
        PlanLink.checkEnds(source, output, target, input);
        CudaPlanLink link = new CudaPlanLink(source, output, target, input, route);
        LOG.fine(() -> "link " + PlanLink.describe(source, output, target, input) + ": " + route.words);
        return link;
    }

    @Override public String route() { return route.words; }

    Route routeKind() { return route; }

    @Override
    public void transfer() {
        if (closed) throw new IllegalStateException("link " + PlanLink.describe(source, output, target, input) + " is closed");
        CudaBackend a = source.backend(), b = target.backend();
        driver.setCurrent(a.context);
        long src = source.linkSource(output, input);
        driver.setCurrent(b.context);
        long dst = target.linkTarget(input);
        DType from = source.storageType(output), to = input.dtype();
        long n = output.numel(), bytes = n * from.byteSize();
        if (route == Route.SAME_STREAM) {
            driver.setCurrent(a.context);
            source.deviceCopy(src, from, dst, to, n);   // ordered by the stream itself
            return;
        }
        boolean convertOnTarget = from != to && route != Route.SAME_CONTEXT;
        long into = convertOnTarget ? landing(bytes) : dst;
        driver.record(targetIdle, b.stream);
        driver.setCurrent(a.context);
        driver.streamWait(a.stream, targetIdle);
        switch (route) {
            case SAME_CONTEXT -> source.deviceCopy(src, from, dst, to, n);   // one context: the kernel reads and writes both
            case PEER -> driver.copyPeer(into, b.context, src, a.context, bytes, a.stream);
            case HOST_STAGED -> driver.copyToHost(pinned(bytes), src, bytes, a.stream);
            default -> throw new IllegalStateException(route.name());
        }
        driver.record(copied, a.stream);
        driver.setCurrent(b.context);
        driver.streamWait(b.stream, copied);
        if (route == Route.HOST_STAGED) driver.copyToDevice(into, pinned, bytes, b.stream);
        if (convertOnTarget) target.deviceCopy(into, from, dst, to, n);
    }

    private MemorySegment pinned(long bytes) {
        if (pinned == null) pinned = driver.mallocHost(bytes);
        return pinned;
    }

    /** The target-side buffer a converting copy lands in (the caller made the target's context current). */
    private long landing(long bytes) {
        if (landing == 0) landing = target.backend().residentWeights.mallocEvicting(bytes);
        return landing;
    }

    /** Waits for copies in flight (their buffers are freed), then releases the events and buffers. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (route == Route.SAME_STREAM) return;
        CudaBackend a = source.backend(), b = target.backend();
        driver.setCurrent(a.context);
        driver.synchronize(a.stream);
        driver.destroyEvent(copied);
        if (pinned != null) driver.freeHost(pinned);
        driver.setCurrent(b.context);
        driver.synchronize(b.stream);
        driver.destroyEvent(targetIdle);
        if (landing != 0) driver.free(landing);
    }

    /** Direct access both ways where the two GPUs allow it ({@code cuDeviceCanAccessPeer}); "already enabled" is fine. */
    private static boolean enablePeerAccess(CudaBackend a, CudaBackend b) {
        CudaDriver d = a.driver;
        if (!d.canAccessPeer(a.device, b.device) || !d.canAccessPeer(b.device, a.device)) {
            LOG.info("CUDA devices " + a.ordinal() + " and " + b.ordinal() + " cannot access each other's memory:"
                    + " their exchanges are staged through page-locked host memory");
            return false;
        }
        d.setCurrent(a.context);
        d.enablePeerAccess(b.context);
        d.setCurrent(b.context);
        d.enablePeerAccess(a.context);
        return true;
    }
}
