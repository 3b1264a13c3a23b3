package org.align4j.cli;

import org.align4j.job.RewardStage;

import org.align4j.reward.KlPenalty;
import org.align4j.reward.Reward;

import org.align4j.llama.Model;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.RunSummary;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.rso.Pairing;
import org.align4j.rso.RejectionSampler;
import org.align4j.rso.RsoJob;
import org.align4j.rso.SelectionMode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code align4j rso}: RSO preference pairs (statistical rejection sampling) with TRL's log-prob columns. */
@Command(name = "rso", description = {
        "RSO preference pairs (Liu et al. 2023): sample --candidates completions per",
        "prompt from the SFT policy, reward them, keep --accept by statistical",
        "rejection sampling (Algorithm 1) and pair them, the higher reward chosen.",
        "Writes TRL preference records with chosen_reward, rejected_reward and the",
        "log-prob columns chosen_logps, rejected_logps (policy), ref_chosen_logps,",
        "ref_rejected_logps (-r, else the policy), and PAIRS.jsonl.manifest.json."})
final class RsoCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;
    @Mixin EngineOptions engine;
    @Mixin LoraOptions lora;
    @Mixin SamplingOptions sampling = new SamplingOptions(0.7f, 40); // the paper's sampling

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "SFT.gguf", description = "the SFT policy that samples")
    Path model;

    @Option(names = {"-r", "--ref"}, paramLabel = "REF.gguf", description = "reference model for the ref_* columns and --kl-coef (same vocabulary; default: the policy, without its --lora adapters)")
    Path reference;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "PROMPTS.jsonl")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "PAIRS.jsonl")
    Path output;

    @Mixin RewardOptions reward;

    @Option(names = "--candidates", paramLabel = "N", description = "candidates sampled per prompt (default: ${DEFAULT-VALUE})")
    int candidates = 64;

    @Option(names = "--accept", paramLabel = "K", description = "candidates kept per prompt, at most --candidates (default: ${DEFAULT-VALUE})")
    int accept = 8;

    @Option(names = "--mode", paramLabel = "MODE", description = "rso (Algorithm 1), sft-sample-rank (a uniform random K) or top-k-over-n (the K highest rewards) (default: ${DEFAULT-VALUE})")
    String mode = SelectionMode.RSO.cliName();

    @Option(names = "--beta", paramLabel = "B", description = "rso's temperature: a candidate is accepted with probability exp((r - r_max) / B) (default: 0.5)")
    Double beta;

    @Option(names = "--pairing", paramLabel = "SCHEME", description = "first-round (disjoint neighbours, K/2 pairs) or tournament (K - 1 games) (default: ${DEFAULT-VALUE})")
    String pairing = Pairing.Scheme.FIRST_ROUND.cliName();

    @Option(names = "--ties", paramLabel = "skip|keep", description = "a game between equal rewards: dropped, or kept with the earlier-accepted candidate chosen; counted either way (default: ${DEFAULT-VALUE})")
    String ties = Pairing.TieRule.SKIP.cliName();

    @Option(names = "--keep-candidates", paramLabel = "FILE", description = "also write every candidate with its reward and acceptance, one line per prompt")
    Path keepCandidates;

    @Option(names = "--on-error", paramLabel = "fail|skip", converter = OnError.class,
            description = "on a bad record: stop (exit 1) or log it to PAIRS.rejects.jsonl and go on (default: fail)")
    ErrorPolicy onError = ErrorPolicy.FAIL;

    @Option(names = "--resume", description = "continue an interrupted run of the same command")
    boolean resume;

    static final double DEFAULT_BETA = 0.5;

    @Override
    public Integer call() {
        RsoJob.Options options = jobOptions();
        KlPenalty kl = reward.klPenalty(spec, reference != null ? reference : model);
        RsoJob.Result result;
        try (Model policy = engine.load(model);
             Model ref = engine.loadIfGiven(reference);
             Reward r = RewardStage.open(reward.reward, kl, model, options.engine(), engine.gpuLayers, options.rewardTimeout())) {
            result = RsoJob.run(policy, ref, r, options);
        }
        RunSummary summary = result.summary();
        spec.commandLine().getErr().println(summary);
        spec.commandLine().getErr().println(result.outcome(options.pairing().ties()));
        if (!engine.quiet) {
            spec.commandLine().getErr().println(String.format(Locale.ROOT, "rso: %s; %.2f prompts/s, %.0f generated tokens/s",
                    result.timings().describe(summary.wallSeconds()),
                    summary.wallSeconds() > 0 ? summary.records() / summary.wallSeconds() : 0, summary.tokensPerSecond()));
        }
        return 0;
    }

    /** The job's options as given; a usage error as a ParameterException. */
    RsoJob.Options jobOptions() {
        RejectionSampler selector;
        Pairing pairs;
        try {
            SelectionMode m = SelectionMode.named(mode);
            if (beta != null && m != SelectionMode.RSO) {
                throw new IllegalArgumentException("--beta is rso's; --mode " + mode + " has none");
            }
            selector = switch (m) {
                case RSO -> RejectionSampler.rso(beta == null ? DEFAULT_BETA : beta);
                case SFT_SAMPLE_RANK -> RejectionSampler.sftSampleRank();
                case TOP_K_OVER_N -> RejectionSampler.topKOverN();
            };
            pairs = new Pairing(Pairing.Scheme.named(pairing), Pairing.TieRule.named(ties));
            if (keepCandidates != null && keepCandidates.toAbsolutePath().normalize().equals(output.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException("--keep-candidates must be another file than -o");
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        reward.spec(spec);
        Duration rewardTimeout = reward.timeout(spec);
        SamplingParams params = sampling.params(spec);
        SamplerOptions sampler = sampling.sampler(engine, params, spec);
        RsoJob.Options options;
        try {
            ContinuousBatchSampler.checkCompletions(candidates, params, "--candidates");
            options = new RsoJob.Options(input, output, keepCandidates,
                    rewardTimeout, candidates, accept, selector, pairs, onError,
                    resume, engine.quiet, engine.gpuLayers, sampler, params, lora.adapters());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        return options;
    }
}
