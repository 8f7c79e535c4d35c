package dev.i2vgen.backend.cuda;

import java.util.concurrent.locks.Lock;
import java.util.function.Supplier;

/**
 * The plan-build searches' check, lock, check again: a choice already known (this process, another thread's build,
 * the algorithm cache) is used without waiting; otherwise the search runs holding the lock that owns the stream and
 * workspaces it times on ({@link CudaBackend#streamLock}), after looking once more, since another thread's build may
 * have searched the same shape while this one waited.
 */
final class SearchOnce {
    private SearchOnce() {}

    /** {@code known}'s answer (null: not known), else {@code search}'s, computed holding {@code lock}. */
    static <T> T knownOrSearched(Lock lock, Supplier<T> known, Supplier<T> search) {
        T k = known.get();
        if (k != null) return k;
        lock.lock();
        try {
            k = known.get();
            return k != null ? k : search.get();
        } finally {
            lock.unlock();
        }
    }
}
