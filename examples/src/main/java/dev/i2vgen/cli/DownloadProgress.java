package dev.i2vgen.cli;

import dev.i2vgen.io.hub.DownloadListener;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;

/**
 * The progress of a model download on the terminal: one bar over all the files (megabytes, rate, time left; a resumed
 * partial download counts as done from the start), the file being fetched beside it, retries and notices as lines.
 * A download under a megabyte (model_index.json alone, a changed config) is not shown.
 */
final class DownloadProgress implements DownloadListener, AutoCloseable {
    private static final long BAR_FROM_BYTES = 1_000_000;

    private final PrintWriter err;
    private ProgressBar bar;

    DownloadProgress(PrintWriter err) { this.err = err; }

    @Override
    public void downloadStarting(String repository, List<String> files, long totalBytes, long alreadyDownloaded) {
        close();
        if (totalBytes < BAR_FROM_BYTES) return;
        err.printf(Locale.ROOT, "Downloading %d file%s of %s (%s) into the Hugging Face cache%s%n", files.size(), files.size() == 1 ? "" : "s",
                repository, megabytes(totalBytes), alreadyDownloaded > 0 ? ", resuming " + megabytes(alreadyDownloaded) + " already there" : "");
        err.flush();
        bar = new ProgressBarBuilder().setTaskName("Downloading").setInitialMax(Math.max(1, totalBytes)).setUnit("MB", 1_000_000)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err))
                .showSpeed().setSpeedUnit(ChronoUnit.SECONDS).startsFrom(alreadyDownloaded, Duration.ZERO).build();
    }

    @Override
    public void fileStarting(String file, long size) {
        if (bar != null) bar.setExtraMessage(" " + file);
    }

    @Override
    public void transferred(long bytes) {
        if (bar != null) bar.stepBy(bytes);
    }

    @Override
    public void retrying(String what, int retry, int maxRetries, String reason, Duration wait) {
        err.printf(Locale.ROOT, "%n%s: %s; retrying in %.1f s (%d of %d)%n", what, reason, wait.toMillis() / 1000.0, retry, maxRetries);
        err.flush();
    }

    @Override
    public void notice(String message) {
        err.println(message);
        err.flush();
    }

    @Override
    public void downloadFinished() { close(); }

    @Override
    public void close() {
        if (bar != null) bar.close();
        bar = null;
    }

    private static String megabytes(long bytes) { return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6); }
}
