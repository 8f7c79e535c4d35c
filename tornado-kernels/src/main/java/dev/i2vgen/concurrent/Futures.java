package dev.i2vgen.concurrent;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Waiting for work done on another thread as if it had run on this one: a failure comes out as the exception that was
 * raised there, not wrapped in a {@link CompletionException}, so callers and their tests see the same errors either way.
 */
public final class Futures {
    private Futures() {}

    /** The future's value; its failure's cause thrown as it was raised (an unchecked one; others stay wrapped). */
    public static <T> T join(CompletableFuture<T> future) {
        return join(future, RuntimeException.class);
    }

    /**
     * The future's value; a failure whose cause is unchecked or a {@code checked} is thrown as it was raised, any other
     * stays in its {@link CompletionException}.
     */
    public static <T, X extends Exception> T join(CompletableFuture<T> future, Class<X> checked) throws X {
        try {
            return future.join();
        } catch (CompletionException e) {
            switch (e.getCause()) {
                case RuntimeException r -> throw r;
                case Error err -> throw err;
                case Exception x when checked.isInstance(x) -> throw checked.cast(x);
                case null, default -> throw e;
            }
        }
    }
}
