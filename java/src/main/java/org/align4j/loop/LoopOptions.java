package org.align4j.loop;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.rso.Pairing;
import org.align4j.dpo.DpoOptions;
import org.align4j.reward.KlPenalty;

/**
 * Everything a {@link LoopJob} run needs.
 *
 * @param policy          the starting policy, a llama GGUF
 * @param reference       the reference of every round's DPO and of the KL estimates; null: the starting policy
 * @param prompts         prompt records the rounds sample from
 * @param out             the run folder: {@code round-K/} per round, {@code loop.jsonl}, {@code loop.png}
 * @param reward          the {@code --reward SPEC}
 * @param rewardTimeout   a {@code cmd:} reward's longest wait for one answer
 * @param rounds          rounds of sample -> reward -> pairs -> DPO
 * @param promptsPerRound prompts each round samples, taken in file order and wrapping around, so that
 *                        consecutive rounds see different prompts; 0: all of them every round
 * @param n               completions sampled per prompt
 * @param sampling        how the rounds sample (its seed is the run's; round K samples with seed + K)
 * @param engine          the sampler's capacity (also used to score)
 * @param pairs           how a prompt's rewarded completions become preference pairs
 * @param rsoBeta         RSO's acceptance temperature ({@link PairScheme#RSO})
 * @param accept          completions RSO keeps per prompt ({@link PairScheme#RSO}), at most {@code n}
 * @param pairing         how RSO pairs the kept ones
 * @param dpo             the DPO settings of every round; its policy, data and out are replaced per round
 * @param eval            prompt records for the greedy evaluation of the start and every round's model; null: none
 * @param evalSamples     completions per eval prompt at the sampling temperature, for the mean reward and the KL;
 *                        0: greedy evaluation only
 * @param gpuLayers       layers llama.cpp offloads
 * @param klCoef          {@code --kl-coef}: every reward penalised by klCoef x the KL to {@link #referenceModel()}; null: none
 */
public record LoopOptions(Path policy, Path reference, Path prompts, Path out, String reward, Duration rewardTimeout, int rounds, int promptsPerRound,
                          int n, SamplingParams sampling, SamplerOptions engine, PairScheme pairs, double rsoBeta, int accept,
                          Pairing.Scheme pairing, DpoOptions dpo, Path eval, int evalSamples, int gpuLayers, boolean quiet,
                          Double klCoef) {

    /** Without a KL penalty. */
    public LoopOptions(Path policy, Path reference, Path prompts, Path out, String reward, Duration rewardTimeout, int rounds,
                       int promptsPerRound, int n, SamplingParams sampling, SamplerOptions engine, PairScheme pairs, double rsoBeta,
                       int accept, Pairing.Scheme pairing, DpoOptions dpo, Path eval, int evalSamples, int gpuLayers, boolean quiet) {
        this(policy, reference, prompts, out, reward, rewardTimeout, rounds, promptsPerRound, n, sampling, engine, pairs, rsoBeta, accept,
                pairing, dpo, eval, evalSamples, gpuLayers, quiet, null);
    }

    public LoopOptions withKlCoef(Double c) {
        return new LoopOptions(policy, reference, prompts, out, reward, rewardTimeout, rounds, promptsPerRound, n, sampling, engine, pairs,
                rsoBeta, accept, pairing, dpo, eval, evalSamples, gpuLayers, quiet, c);
    }

    /** The KL penalty of every reward, or null. */
    public KlPenalty klPenalty() {
        return klCoef == null ? null : new KlPenalty(klCoef, referenceModel());
    }

    /** How a prompt's N rewarded completions become preference pairs. */
    public enum PairScheme {
        /** RSO (Liu et al. 2023): keep {@code accept} of the N by statistical rejection sampling, then pair them. */
        RSO("rso"),
        /** One pair per prompt: a highest-reward completion over a lowest-reward one; none when all rewards are equal. */
        BEST_WORST("best-worst");

        private final String cliName;

        PairScheme(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        public static PairScheme named(String name) {
            for (PairScheme s : values()) {
                if (s.cliName.equals(name)) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown pairs '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(PairScheme::cliName).toList());
        }
    }

    public LoopOptions {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(prompts, "prompts");
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(reward, "reward");
        Objects.requireNonNull(rewardTimeout, "rewardTimeout");
        Objects.requireNonNull(sampling, "sampling");
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(pairs, "pairs");
        Objects.requireNonNull(pairing, "pairing");
        Objects.requireNonNull(dpo, "dpo");
        if (rounds < 1) {
            throw new IllegalArgumentException("--rounds must be at least 1, not " + rounds);
        }
        if (promptsPerRound < 0) {
            throw new IllegalArgumentException("--prompts-per-round must be 0 (all) or more, not " + promptsPerRound);
        }
        if (n < 2) {
            throw new IllegalArgumentException("-n must be at least 2 (a pair needs two completions), not " + n);
        }
        if (pairs == PairScheme.RSO && !(rsoBeta > 0 && rsoBeta < Double.POSITIVE_INFINITY)) {
            throw new IllegalArgumentException("--rso-beta must be positive and finite, not " + rsoBeta);
        }
        if (pairs == PairScheme.RSO && (accept < 2 || accept > n)) {
            throw new IllegalArgumentException("--accept must be in [2, -n " + n + "], not " + accept);
        }
        if (klCoef != null) {
            klPenalty(); // a bad C is an IllegalArgumentException
        }
        if (evalSamples < 0) {
            throw new IllegalArgumentException("--eval-samples must be 0 or more, not " + evalSamples);
        }
    }

    /** The reference model: {@code reference}, else the starting policy. */
    public Path referenceModel() {
        return reference != null ? reference : policy;
    }
}
