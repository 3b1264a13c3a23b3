package org.align4j.job;

import java.util.Locale;

/** The line a job ends with. {@code tokens} are the tokens the job processed (scored or generated). */
public record RunSummary(String job, long records, long skipped, long tokens, double wallSeconds) {
    public double tokensPerSecond() {
        return wallSeconds > 0 ? tokens / wallSeconds : 0;
    }

    /** {@code score: 1000 records (3 skipped), 384000 tokens in 12.3 s, 31220 tokens/s}. */
    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s: %d records (%d skipped), %d tokens in %.1f s, %.0f tokens/s",
                job, records, skipped, tokens, wallSeconds, tokensPerSecond());
    }
}
