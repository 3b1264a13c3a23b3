package org.align4j.engine;

import java.util.Locale;

/**
 * Where an engine's time went: wall time inside {@code llama_decode}, in sampling (a sampler's filters
 * and draws; a scorer has none) and inside the log-prob kernels, and how much was decoded.
 * Everything else a job spends (tokenizing, JSON, scheduling, rewards) is its wall time minus these.
 */
public final class EngineTimings {
    private long decodes;
    private long tokensDecoded;
    private long decodeNanos;
    private long samplingNanos;
    private long logProbNanos;

    void addDecode(int tokens, long nanos) {
        decodes++;
        tokensDecoded += tokens;
        decodeNanos += nanos;
    }

    void addSampling(long nanos) {
        samplingNanos += nanos;
    }

    void addLogProbs(long nanos) {
        logProbNanos += nanos;
    }

    /** Adds another engine's figures to these (a policy and a reference scorer of one job). */
    public void add(EngineTimings other) {
        decodes += other.decodes;
        tokensDecoded += other.tokensDecoded;
        decodeNanos += other.decodeNanos;
        samplingNanos += other.samplingNanos;
        logProbNanos += other.logProbNanos;
    }

    public long decodes() {
        return decodes;
    }

    /** Tokens put through llama_decode: a shared prompt counts once. */
    public long tokensDecoded() {
        return tokensDecoded;
    }

    public double decodeSeconds() {
        return decodeNanos / 1e9;
    }

    /** Wall time of the draws (the token sampler's filters and draws, one native call per step). */
    public double samplingSeconds() {
        return samplingNanos / 1e9;
    }

    public double logProbSeconds() {
        return logProbNanos / 1e9;
    }

    /**
     * {@code 384000 tokens in 750 llama_decode calls (31000 tokens/s while decoding); of 12.3 s: decode
     * 91.0%, log-probs 1.2%, other 7.8%}; an engine that samples adds {@code sampling 4.0%} after decode.
     */
    public String describe(double wallSeconds) {
        double other = Math.max(0, wallSeconds - decodeSeconds() - samplingSeconds() - logProbSeconds());
        return String.format(Locale.ROOT,
                "%d tokens in %d llama_decode calls (%.0f tokens/s while decoding); of %.1f s: decode %.1f%%, %slog-probs %.1f%%, other %.1f%%",
                tokensDecoded, decodes, decodeSeconds() > 0 ? tokensDecoded / decodeSeconds() : 0, wallSeconds,
                percent(decodeSeconds(), wallSeconds),
                samplingNanos > 0 ? String.format(Locale.ROOT, "sampling %.1f%%, ", percent(samplingSeconds(), wallSeconds)) : "",
                percent(logProbSeconds(), wallSeconds), percent(other, wallSeconds));
    }

    private static double percent(double part, double whole) {
        return whole > 0 ? 100 * part / whole : 0;
    }
}
