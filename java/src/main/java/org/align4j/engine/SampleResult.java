package org.align4j.engine;

import java.util.List;

/** A request and its {@code n} completions, in completion-index order. */
public record SampleResult(SampleRequest request, List<Completion> completions) {
    public SampleResult {
        completions = List.copyOf(completions);
    }

    /** Tokens sampled over all completions. */
    public long generatedTokens() {
        long n = 0;
        for (Completion c : completions) {
            n += c.length();
        }
        return n;
    }
}
