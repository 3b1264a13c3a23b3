package org.align4j.cli;

import java.util.ArrayList;
import java.util.List;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** Options every job that samples shares (DESIGN.md: sampling options), and the sampler's own. */
final class SamplingOptions {
    @Option(names = "--temperature", paramLabel = "T", description = "0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature = 1f;

    @Option(names = "--top-k", paramLabel = "K", description = "sample from the K most probable tokens; 0 = off (default: ${DEFAULT-VALUE})")
    int topK = 0;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus: the most probable tokens up to P probability; 1 = off (default: ${DEFAULT-VALUE})")
    float topP = 1f;

    @Option(names = "--min-p", paramLabel = "P", description = "drop tokens under P times the top probability; 0 = off (default: ${DEFAULT-VALUE})")
    float minP = 0f;

    @Option(names = "--repeat-penalty", paramLabel = "R", description = "penalize tokens among the last --repeat-last-n; 1 = off (default: ${DEFAULT-VALUE})")
    float repeatPenalty = 1f;

    @Option(names = "--repeat-last-n", paramLabel = "N", description = "window of the repetition penalty, tokens (default: ${DEFAULT-VALUE})")
    int repeatLastN = 64;

    @Option(names = "--max-tokens", paramLabel = "N", description = "most tokens per completion (default: ${DEFAULT-VALUE})")
    int maxTokens = 256;

    @Option(names = "--stop", paramLabel = "TEXT", description = "end a completion when its text contains TEXT, cut before it; repeatable")
    List<String> stops = new ArrayList<>();

    @Option(names = "--ignore-eos", description = "never sample an end-of-generation token: completions end at --max-tokens or --stop (log-probs stay raw)")
    boolean ignoreEos;

    @Option(names = "--seed", paramLabel = "S", description = "run seed; completion k of record ID samples with a seed from (S, ID, k) (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = "--seqs", paramLabel = "N", description = "sequences sampled side by side (default: ${DEFAULT-VALUE})")
    int seqs = 16;

    @Option(names = "--flash-attn", description = "use llama.cpp's flash attention (faster on a GPU; on or off, log-probs on the CPU move a little with what is batched beside a prompt: README)")
    boolean flashAttention;

    /** The defaults above: temperature 1, no top-k. */
    SamplingOptions() {}

    /** Other defaults for a job whose recipe says so (RSO's paper samples at temperature 0.7, top-k 40). */
    SamplingOptions(float temperature, int topK) {
        this.temperature = temperature;
        this.topK = topK;
    }

    /** The sampling parameters; an out-of-range value is a usage error naming its option. */
    SamplingParams params(CommandSpec spec) {
        try {
            return new SamplingParams(temperature, topK, topP, minP, repeatPenalty, repeatLastN, maxTokens, stops, seed, ignoreEos);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    /**
     * The sampler's capacity from the common options and {@code --seqs}, checked against {@code params};
     * a usage error says what to change.
     */
    SamplerOptions sampler(EngineOptions engine, SamplingParams params, CommandSpec spec) {
        try {
            SamplerOptions o = new SamplerOptions(engine.ctx, engine.batchTokens, seqs, engine.threads, flashAttention);
            ContinuousBatchSampler.checkCapacity(o, params);
            return o;
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
