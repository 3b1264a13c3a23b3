package org.align4j.engine;

import org.align4j.SplitMix64;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.align4j.llama.TokenSampler;

/**
 * How to choose each token and when to stop; the same for every completion of a run. The filters run in
 * llama.cpp's order: repetition penalty, top-k, top-p, min-p, temperature, then a seeded draw (argmax at
 * temperature 0). None of them changes the recorded log-probs, which are always the raw ones.
 *
 * @param temperature   0 = greedy (argmax; the other filters, but the penalty, then change nothing)
 * @param topK          keep the k most probable tokens; 0 = off
 * @param topP          keep the smallest set of tokens with this much probability; 1 = off
 * @param minP          drop tokens less probable than minP times the most probable; 0 = off
 * @param repeatPenalty divide the logits (multiply negative ones) of tokens among the last
 *                      {@code repeatLastN} of prompt and completion; 1 = off
 * @param repeatLastN   the penalty's window, tokens
 * @param maxTokens     most tokens sampled per completion
 * @param stops         a completion ends when its text contains one of these; its text is cut before it
 * @param seed          the run's seed, from which each completion's seed is derived ({@link #keySeed})
 * @param ignoreEos     never sample an end-of-generation token (a -infinity logit bias, llama.cpp's
 *                      {@code --ignore-eos}), so completions end only by {@code maxTokens} or a stop string;
 *                      the recorded log-probs stay the raw ones
 */
public record SamplingParams(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN,
                             int maxTokens, List<String> stops, long seed, boolean ignoreEos) {
    /** @throws IllegalArgumentException naming the CLI option that is out of range */
    public SamplingParams {
        stops = List.copyOf(stops);
        require(Float.isFinite(temperature) && temperature >= 0, "--temperature must be 0 (greedy) or more, not " + temperature);
        require(topK >= 0, "--top-k must be 0 (off) or more, not " + topK);
        require(topP > 0 && topP <= 1, "--top-p must be in (0, 1], not " + topP);
        require(minP >= 0 && minP < 1, "--min-p must be in [0, 1), not " + minP);
        require(Float.isFinite(repeatPenalty) && repeatPenalty > 0, "--repeat-penalty must be positive (1 = off), not " + repeatPenalty);
        require(repeatLastN >= 0, "--repeat-last-n must be 0 or more, not " + repeatLastN);
        require(maxTokens >= 1, "--max-tokens must be positive, not " + maxTokens);
        for (String s : stops) {
            require(!s.isEmpty(), "--stop must not be empty");
        }
    }

    /** End-of-generation tokens end completions. */
    public SamplingParams(float temperature, int topK, float topP, float minP, float repeatPenalty, int repeatLastN,
                          int maxTokens, List<String> stops, long seed) {
        this(temperature, topK, topP, minP, repeatPenalty, repeatLastN, maxTokens, stops, seed, false);
    }

    /** Sampling at temperature 1 with no filter, no penalty and no stop string. */
    public static SamplingParams plain(int maxTokens, long seed) {
        return new SamplingParams(1f, 0, 1f, 0f, 1f, 64, maxTokens, List.of(), seed);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** These parameters drawing from another seed. */
    public SamplingParams withSeed(long seed) {
        return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, maxTokens, stops, seed, ignoreEos);
    }

    /** Greedy decoding (temperature 0, no filter, no penalty) with the same length, stops, seed and EOS rule. */
    public SamplingParams withGreedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, repeatLastN, maxTokens, stops, seed, ignoreEos);
    }

    public boolean greedy() {
        return temperature == 0f;
    }

    public boolean penalizes() {
        return repeatPenalty != 1f && repeatLastN > 0;
    }

    /**
     * The 64-bit seed of stream {@code index} of the request named {@code key}: SplitMix64 over the run's
     * seed, the key's UTF-8 bytes (FNV-1a) and the index. Completion k takes its draws' seeds from
     * {@code new SplittableRandom(keySeed(key, k))}; a job that needs more randomness per request (RSO's
     * acceptance draws) takes a negative index, so its stream never coincides with a completion's.
     */
    public long keySeed(String key, long index) {
        long fnv = 0xCBF29CE484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            fnv = (fnv ^ (b & 0xff)) * 0x100000001B3L;
        }
        return SplitMix64.next(SplitMix64.next(SplitMix64.next(seed) ^ fnv) + index);
    }


    /** The token sampler's filters; the penalty is 1 (off) unless {@link #penalizes()}. */
    public TokenSampler.Filters filters() {
        return new TokenSampler.Filters(temperature, topK, topP, minP, penalizes() ? repeatPenalty : 1f);
    }
}
