package org.align4j.job;

import org.align4j.data.JsonlReader;

import java.io.PrintStream;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.function.LongSupplier;

/**
 * Counts a job's records and tokens and prints a progress line to stderr at most once per interval
 * ({@code score: 420/1000 records, 2 skipped, 31200 tokens/s, ETA 0:00:19}); {@link #summary()} gives the
 * closing line. Quiet ({@code --quiet}) counts but prints nothing. Single-threaded: the job's writer
 * thread calls it.
 */
public final class ProgressReporter {
    private static final long DEFAULT_INTERVAL_NANOS = 1_000_000_000L;

    private final String job;
    private final PrintStream err;
    private final OptionalLong total;
    private final boolean quiet;
    private final LongSupplier nanoClock;
    private final long intervalNanos;
    private final long start;
    private long lastPrint;
    private long records;
    private long skipped;
    private long tokens;
    private boolean printed;

    /**
     * @param total input records if known (see {@link JsonlReader#countNonBlankLines}), for the ETA
     * @param nanoClock {@link System#nanoTime} outside tests
     */
    public ProgressReporter(String job, PrintStream err, OptionalLong total, boolean quiet, LongSupplier nanoClock,
                            long intervalNanos) {
        this.job = job;
        this.err = err;
        this.total = total;
        this.quiet = quiet;
        this.nanoClock = nanoClock;
        this.intervalNanos = intervalNanos;
        this.start = nanoClock.getAsLong();
        this.lastPrint = start;
    }

    /** To {@code System.err}, at most once a second. */
    public static ProgressReporter toStderr(String job, OptionalLong total, boolean quiet) {
        return new ProgressReporter(job, System.err, total, quiet, System::nanoTime, DEFAULT_INTERVAL_NANOS);
    }

    /** One record written, with the tokens it took. */
    public void recordDone(long recordTokens) {
        records++;
        tokens += recordTokens;
        maybePrint();
    }

    /** One input line rejected under {@code --on-error skip}. */
    public void recordSkipped() {
        skipped++;
        maybePrint();
    }

    public long records() {
        return records;
    }

    public long skipped() {
        return skipped;
    }

    public long tokens() {
        return tokens;
    }

    private void maybePrint() {
        if (quiet) {
            return;
        }
        long now = nanoClock.getAsLong();
        if (now - lastPrint >= intervalNanos) {
            lastPrint = now;
            err.println(progressLine(now));
            printed = true;
        }
    }

    String progressLine(long now) {
        double seconds = (now - start) / 1e9;
        long done = records + skipped;
        StringBuilder b = new StringBuilder(job).append(": ").append(done);
        total.ifPresent(t -> b.append('/').append(t));
        b.append(" records");
        if (skipped > 0) {
            b.append(", ").append(skipped).append(" skipped");
        }
        b.append(String.format(Locale.ROOT, ", %.0f tokens/s", seconds > 0 ? tokens / seconds : 0.0));
        if (total.isPresent() && done > 0 && seconds > 0) {
            long left = Math.max(0, total.getAsLong() - done);
            b.append(", ETA ").append(clock(Math.round(left * seconds / done)));
        }
        return b.toString();
    }

    private static String clock(long s) {
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    /** Whether a progress line was printed (a job may then separate the summary from it). */
    public boolean printed() {
        return printed;
    }

    /** The run so far as a {@link RunSummary}, wall time from construction. */
    public RunSummary summary() {
        return new RunSummary(job, records, skipped, tokens, (nanoClock.getAsLong() - start) / 1e9);
    }
}
