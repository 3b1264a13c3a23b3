package org.align4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.loop.LoopJob;
import org.align4j.loop.LoopOptions;
import org.align4j.rso.Pairing;
import org.align4j.dpo.DpoOptions;
import org.align4j.train.LoraConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code align4j loop}: iterative DPO, sample -> reward -> pairs -> DPO -> reload, K rounds. */
@Command(name = "loop", sortOptions = false, description = {
        "Iterative (online) DPO: each round samples -n completions of a slice of the prompts with the",
        "current policy, rewards them (--reward), pairs them (--pairs rso|best-worst), scores the pairs",
        "under policy and reference, trains the policy with DPO against the fixed reference and reloads it.",
        "Writes OUT/round-K/ (prompts, samples, pairs, model.gguf, DPO metrics) and OUT/loop.jsonl with",
        "each round's sample reward, KL to the reference and, with --eval, held-out greedy reward.",
        "With --lora-rank the policy stays the base: rounds sample with base + the previous round's adapter",
        "(round 1: --lora-init's, if given, else none), train it on (reference: the base) and write",
        "round-K/adapter.gguf instead of a model; --merge and --peft write the last round's adapter."})
final class LoopCommand implements Callable<Integer>, RunsLlama {
    @Spec CommandSpec spec;
    @Mixin EngineOptions engine;
    @Mixin SamplingOptions sampling;
    @Mixin DpoTrainingOptions training;
    @Mixin LoraTrainingOptions lora;
    @Mixin LoraOutputOptions loraOutputs;

    @Option(names = "--policy", required = true, paramLabel = "M.gguf", description = "the starting policy")
    Path policy;

    @Option(names = "--ref", paramLabel = "R.gguf", description = "reference model of DPO and of the KL (default: the starting policy)")
    Path reference;

    @Option(names = {"-i", "--input"}, required = true, paramLabel = "PROMPTS.jsonl", description = "prompt records the rounds sample from")
    Path input;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "DIR", description = "the run folder")
    Path out;

    @Mixin RewardOptions reward;

    @Option(names = "--rounds", paramLabel = "K", description = "rounds (default: ${DEFAULT-VALUE})")
    int rounds = 3;

    @Option(names = "--prompts-per-round", paramLabel = "P", description = "prompts per round, in file order, wrapping around; 0: all (default: ${DEFAULT-VALUE})")
    int promptsPerRound;

    @Option(names = "-n", paramLabel = "N", description = "completions sampled per prompt (default: ${DEFAULT-VALUE})")
    int n = 16;

    @Option(names = "--pairs", paramLabel = "rso|best-worst", description = "RSO selection then pairing, or highest over lowest reward (default: ${DEFAULT-VALUE})")
    String pairs = "rso";

    @Option(names = "--rso-beta", paramLabel = "B", description = "RSO acceptance temperature (default: ${DEFAULT-VALUE})")
    double rsoBeta = 0.5;

    @Option(names = "--accept", paramLabel = "K", description = "completions RSO keeps per prompt (default: ${DEFAULT-VALUE})")
    int accept = 8;

    @Option(names = "--pairing", paramLabel = "first-round|tournament", description = "how RSO pairs the kept ones (default: ${DEFAULT-VALUE})")
    String pairing = "first-round";

    @Option(names = "--eval", paramLabel = "PROMPTS.jsonl", description = "evaluate the start and every round's model on these prompts")
    Path eval;

    @Option(names = "--eval-samples", paramLabel = "N", description = "completions per eval prompt for the sampled reward and KL; 0: greedy only (default: ${DEFAULT-VALUE})")
    int evalSamples = 4;

    @Option(names = "--train-threads", paramLabel = "N", description = "threads of the Java trainer (DPO); default: --threads")
    Integer trainThreads;

    @Override
    public Integer call() {
        reward.spec(spec);
        Duration rewardTimeout = reward.timeout(spec);
        LoopOptions options;
        try {
            SamplingParams params = sampling.params(spec);
            SamplerOptions sampler = sampling.sampler(engine, params, spec);
            ContinuousBatchSampler.checkCompletions(n, params, "-n");
            LoraConfig config = lora.config();
            DpoOptions dpo = loraOutputs.applyTo(training.applyTo(DpoOptions.builder(policy, input, out.resolve("model.gguf"))), config)
                    .seed(params.seed()).threads(trainThreads != null ? trainThreads : engine.threads).gpuLayers(engine.gpuLayers).quiet(engine.quiet)
                    .lora(config).initialAdapter(lora.initialAdapter()).build();
            options = new LoopOptions(policy, reference, input, out, reward.reward, rewardTimeout, rounds, promptsPerRound, n, params, sampler,
                    LoopOptions.PairScheme.named(pairs), rsoBeta, accept, Pairing.Scheme.named(pairing), dpo, eval, evalSamples,
                    engine.gpuLayers, engine.quiet).withKlCoef(reward.klCoef);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter err = spec.commandLine().getErr();
        LoopJob.Result result = new LoopJob(options, err).run();
        err.println(result);
        return 0;
    }
}
