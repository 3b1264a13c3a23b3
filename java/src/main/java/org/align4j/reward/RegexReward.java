package org.align4j.reward;

import java.util.List;
import java.util.regex.Pattern;

/** {@code regex:PATTERN}: 1 if PATTERN is found anywhere in a completion ({@link java.util.regex.Matcher#find()}), else 0. */
final class RegexReward implements Reward {
    private final Pattern pattern;

    RegexReward(Pattern pattern) {
        this.pattern = pattern;
    }

    @Override
    public Identity identity() {
        return new Identity("regex:" + pattern.pattern(), List.of());
    }

    @Override
    public double[] score(RewardInput in) {
        double[] out = new double[in.completions().size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = pattern.matcher(in.completions().get(i).text()).find() ? 1 : 0;
        }
        return out;
    }

    @Override
    public void close() {}
}
