package dev.i2vgen.concurrent;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FuturesTest {

    @Test
    void valuesAndFailuresAsRaisedOnTheOtherThread() throws IOException {
        assertEquals("v", Futures.join(CompletableFuture.supplyAsync(() -> "v")));
        IllegalStateException state = new IllegalStateException("boom");
        assertSame(state, assertThrows(IllegalStateException.class, () -> Futures.join(CompletableFuture.failedFuture(state))));
        AssertionError error = new AssertionError("err");
        assertSame(error, assertThrows(AssertionError.class, () -> Futures.join(CompletableFuture.failedFuture(error))));
        IOException io = new IOException("disk");
        CompletableFuture<String> failedIo = CompletableFuture.supplyAsync(() -> { throw new CompletionException(io); });
        assertSame(io, assertThrows(IOException.class, () -> Futures.join(failedIo, IOException.class)));
        // a checked exception the caller did not name stays wrapped
        CompletionException wrapped = assertThrows(CompletionException.class, () -> Futures.join(failedIo));
        assertSame(io, wrapped.getCause());
        UncheckedIOException unchecked = new UncheckedIOException(io);
        assertSame(unchecked, assertThrows(UncheckedIOException.class,
                () -> Futures.join(CompletableFuture.supplyAsync(() -> { throw unchecked; }), IOException.class)));
    }
}
