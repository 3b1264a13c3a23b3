package org.align4j.loop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.RepoFiles;
import org.align4j.bon.SampleJob;
import org.align4j.engine.Adapters;
import org.align4j.llama.LoraAdapter;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.gguf.GgufFile;
import org.align4j.train.LlamaWeights;
import org.align4j.train.LoraConfig;
import org.align4j.train.LoraExport;
import org.align4j.train.LoraMerge;
import org.align4j.train.LoraParams;
import org.align4j.train.PeftAdapter;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.reward.RewardContext;
import org.align4j.rso.Pairing;
import org.align4j.dpo.DpoOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loop on the committed demo model (models/demo/demo.gguf, an adder of partial skill) with
 * {@code match:answer}, on a few prompts: every round's files and figures, the KL estimate (zero while the
 * policy is the reference), RSO and best-worst pairs, prompt slices that move on each round, and the
 * LoRA loop (rounds sample with base + the previous round's adapter).
 */
class LoopJobTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double KL_TOLERANCE = 1e-3; // nats per completion: llama.cpp's sampler vs its scorer on the same model

    @TempDir static Path sets;
    @TempDir Path tmp;
    static Path model;
    static Path train;
    static Path heldout;

    @BeforeAll
    static void findDemo() throws IOException {
        Path demo = RepoFiles.demoDir();
        model = demo.resolve("demo.gguf");
        train = demo.resolve("train.jsonl");
        heldout = sets.resolve("heldout-40.jsonl");
        Files.write(heldout, Files.readAllLines(demo.resolve("heldout.jsonl")).subList(0, 40), StandardCharsets.UTF_8);
    }

    static LoopOptions options(Path out, LoopOptions.PairScheme pairs, int rounds, Path eval) {
        SamplingParams sampling = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 8, List.of(), 3);
        DpoOptions dpo = DpoOptions.builder(model, train, out.resolve("unused.gguf")).learningRate(2e-4).rpoAlpha(1).epochs(2).batchSize(8)
                .threads(2).quiet(true).build();
        return new LoopOptions(model, null, train, out, "match:answer", RewardContext.DEFAULT_TIMEOUT, rounds, 40, 8, sampling, new SamplerOptions(32, 512, 64, 1),
                pairs, 1.0, 4, Pairing.Scheme.TOURNAMENT, dpo, eval, 2, 0, true);
    }

    static LoopJob.Result run(LoopOptions o) {
        StringWriter log = new StringWriter();
        try {
            return new LoopJob(o, new PrintWriter(log, true)).run();
        } finally {
            System.out.print(log);
        }
    }

    static List<JsonNode> records(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            if (!l.isBlank()) {
                out.add(JSON.readTree(l));
            }
        }
        return out;
    }

    @Test
    void twoRoundsOfRsoAndDpoWriteEveryFileAndFigure() throws IOException {
        Path out = tmp.resolve("run");
        LoopJob.Result r = run(options(out, LoopOptions.PairScheme.RSO, 2, heldout));
        System.out.println(r);
        assertThat(r.rounds()).hasSize(2);
        List<JsonNode> table = records(out.resolve("loop.jsonl"));
        assertThat(table).extracting(n -> n.get("round").asInt()).containsExactly(0, 1, 2);
        assertThat(out.resolve("loop.png")).isNotEmptyFile();
        for (int k = 1; k <= 2; k++) {
            Path d = out.resolve("round-" + k);
            LoopJob.Round round = r.rounds().get(k - 1);
            List<JsonNode> prompts = records(d.resolve("prompts.jsonl"));
            assertThat(prompts).hasSize(40);
            // Round k samples train prompts 40(k-1) .. 40k-1: the slices move on.
            assertThat(prompts.getFirst().get("id").asText()).isEqualTo(records(train).get(40 * (k - 1)).get("id").asText());
            assertThat(records(d.resolve("samples.jsonl"))).hasSize(40).allSatisfy(s -> assertThat(s.get("completions")).hasSize(8));
            List<JsonNode> pairs = records(d.resolve("pairs.jsonl"));
            assertThat(pairs).hasSize((int) round.pairs()).isNotEmpty().allSatisfy(p -> {
                assertThat(p.get("chosen_reward").asDouble()).isGreaterThan(p.get("rejected_reward").asDouble());
                assertThat(p.has("ref_chosen_logps") && p.has("ref_rejected_logps")).isTrue();
            });
            assertThat(round.acceptanceRate()).isBetween(0.0, 1.0);
            assertThat(round.model()).isEqualTo(d.resolve("model.gguf")).isNotEmptyFile();
            assertThat(d.resolve("model.gguf.metrics.jsonl")).isNotEmptyFile();
            assertThat(d.resolve("model.gguf.ckpt")).doesNotExist();
            assertThat(d.resolve("eval-greedy.jsonl")).isNotEmptyFile();
            assertThat(round.eval().greedyReward()).isBetween(0.0, 1.0);
            assertThat(table.get(k).get("pairs").asLong()).isEqualTo(round.pairs());
        }
        // The start is the reference: its KL is zero up to llama.cpp's rounding, and round 1 samples with it.
        assertThat(r.start().kl()).isCloseTo(0, within(KL_TOLERANCE));
        assertThat(r.rounds().get(0).sampleKl()).isCloseTo(0, within(KL_TOLERANCE));
        assertThat(r.rounds().get(0).dpo().first().rewardsChosen()).isCloseTo(0, within(1e-3)); // the policy is the reference
        // Round 2 samples with round 1's model, which DPO moved away from the reference.
        assertThat(r.rounds().get(1).sampleKl()).isGreaterThan(KL_TOLERANCE);
        assertThat(r.last().eval().kl()).isGreaterThan(KL_TOLERANCE);
        // The start's greedy accuracy is the recipe's on the same 40 prompts (the same greedy decoding).
        double recipe = org.align4j.demo.DemoModelRecipe.evaluate(model, model.getParent(), tmp.resolve("check"), 40);
        assertThat(r.start().greedyReward()).isEqualTo(recipe);
    }

    @Test
    void bestWorstGivesOnePairPerPromptWhoseRewardsDifferScoredUnderTheReference() throws IOException {
        Path out = tmp.resolve("bw");
        LoopJob.Result r = run(options(out, LoopOptions.PairScheme.BEST_WORST, 1, null));
        Path d = out.resolve("round-1");
        long mixed = records(d.resolve("samples.jsonl")).stream().filter(s -> {
            double lo = 1, hi = 0;
            for (JsonNode c : s.get("completions")) {
                lo = Math.min(lo, c.get("reward").asDouble());
                hi = Math.max(hi, c.get("reward").asDouble());
            }
            return hi > lo;
        }).count();
        List<JsonNode> scored = records(d.resolve("pairs.scored.jsonl"));
        System.out.printf("best-worst: %d of 40 prompts with mixed rewards, %d pairs%n", mixed, scored.size());
        assertThat(scored).hasSize((int) mixed).hasSize((int) r.last().pairs());
        assertThat(scored).allSatisfy(p -> {
            assertThat(p.get("chosen_reward").asDouble()).isEqualTo(1.0);
            assertThat(p.get("rejected_reward").asDouble()).isEqualTo(0.0);
            // The policy is the reference in round 1, so score's two columns agree.
            assertThat(p.get("chosen_logps").asDouble()).isCloseTo(p.get("ref_chosen_logps").asDouble(), within(1e-4));
        });
        assertThat(Double.isNaN(r.last().acceptanceRate())).isTrue();
        assertThat(Double.isNaN(r.start().greedyReward())).as("no eval prompts, no evaluation").isTrue();
        assertThat(out.resolve("loop.png")).doesNotExist();
    }

    @Test
    void loraRoundsSampleWithTheBasePlusThePreviousRoundsAdapterAndWriteNoModel() throws IOException {
        Path out = tmp.resolve("lora");
        LoopOptions full = options(out, LoopOptions.PairScheme.BEST_WORST, 3, heldout);
        DpoOptions dpo = full.dpo().toBuilder().lora(LoraConfig.ofRank(4)).learningRate(5e-3).build();
        LoopOptions o = new LoopOptions(model, null, train, out, full.reward(), full.rewardTimeout(), 3, 40, 8, full.sampling(), full.engine(),
                full.pairs(), full.rsoBeta(), full.accept(), full.pairing(), dpo, heldout, 2, 0, true);
        LoopJob.Result r = run(o);
        System.out.println(r);
        for (int k = 1; k <= 3; k++) {
            Path d = out.resolve("round-" + k);
            LoopJob.Round round = r.rounds().get(k - 1);
            assertThat(round.model()).isEqualTo(model);
            assertThat(round.adapter()).isEqualTo(d.resolve("adapter.gguf")).isNotEmptyFile();
            assertThat(d.resolve("model.gguf")).as("no merged model between rounds").doesNotExist();
            assertThat(d.resolve("adapter.gguf.ckpt")).doesNotExist();
        }
        assertThat(r.last().adapter()).isEqualTo(out.resolve("round-3/adapter.gguf"));
        List<JsonNode> table = records(out.resolve("loop.jsonl"));
        assertThat(table.get(3).get("adapter").asText()).isEqualTo(r.last().adapter().toString());
        double[] sampleKl = new double[4], evalKl = new double[4]; // by round, as loop.jsonl has them; round 0 is the start
        for (int k = 0; k <= 3; k++) {
            sampleKl[k] = k == 0 ? 0 : table.get(k).get("train/sample_kl").asDouble();
            evalKl[k] = table.get(k).get("eval/kl").asDouble();
        }
        System.out.printf("lora loop: KL to the start by round (loop.jsonl), of the samples each round drew %.4f, %.4f, %.4f "
                        + "(round 1: the base; round K: base + round K-1's adapter); of the eval samples of the policy each ends with "
                        + "%.4f (start), %.4f, %.4f, %.4f; round 2's first DPO step: chosen reward %.4f%n",
                sampleKl[1], sampleKl[2], sampleKl[3], evalKl[0], evalKl[1], evalKl[2], evalKl[3], r.rounds().get(1).dpo().first().rewardsChosen());
        // Round 1 samples with the base (the reference); each later round with base + the previous round's adapter,
        // which moves further from the base round by round (320 samples a round). Each round's eval samples (80, too
        // few to rank the rounds) are drawn with its own adapter, away from the base.
        assertThat(sampleKl[1]).isCloseTo(0, within(KL_TOLERANCE));
        assertThat(evalKl[0]).isCloseTo(0, within(KL_TOLERANCE));
        for (int k = 2; k <= 3; k++) {
            assertThat(sampleKl[k]).as("round %d's samples", k).isGreaterThan(KL_TOLERANCE).isGreaterThan(sampleKl[k - 1]);
        }
        for (int k = 1; k <= 3; k++) {
            assertThat(evalKl[k]).as("round %d's eval with base + its adapter", k).isGreaterThan(KL_TOLERANCE);
        }
        // Round 2's DPO continues from round 1's adapter: its first step's policy is not the reference.
        assertThat(Math.abs(r.rounds().get(1).dpo().first().rewardsChosen())).isGreaterThan(1e-4);
        try (Model base = Model.load(model, ModelOptions.inference(0))) {
            // Round 2's samples are what `sample --lora round-1/adapter.gguf` draws with round 2's seed.
            Path again = tmp.resolve("again.jsonl");
            SampleJob.run(base, SampleJob.Options.of(out.resolve("round-2/prompts.jsonl"), again, 8, o.engine(),
                    o.sampling().withSeed(o.sampling().seed() + 2)).withQuiet(true)
                    .withAdapters(Adapters.none().with(r.rounds().get(0).adapter(), 1f)));
            List<List<String>> loop = records(out.resolve("round-2/samples.jsonl")).stream().map(n -> n.get("completions").findValuesAsText("text")).toList();
            assertThat(loop).hasSize(40).allSatisfy(texts -> assertThat(texts).hasSize(8));
            assertThat(records(again)).extracting(n -> n.get("completions").findValuesAsText("text")).isEqualTo(loop);
            try (LoraAdapter last = LoraAdapter.load(base, r.last().adapter())) {
                assertThat(last.path()).isEqualTo(r.last().adapter());
            }
        }
    }

    /**
     * {@code --lora-init} (here a PEFT directory) is the adapter round 1 samples with and trains on, and
     * {@code --merge} with {@code --merge-type q8_0} writes the base with the last round's adapter merged in:
     * byte for byte what {@link LoraMerge} makes of that adapter.
     */
    @Test
    void aLoraLoopStartsFromTheInitialAdapterAndMergesTheLastOne() throws IOException {
        Path start = tmp.resolve("start.gguf");
        Path startPeft = tmp.resolve("start-peft");
        LoraConfig config = new LoraConfig(4, 8f, EnumSet.allOf(LoraParams.Target.class));
        try (GgufFile f = GgufFile.open(model)) {
            LlamaWeights frozen = LlamaWeights.frozen(f);
            LoraParams lora = LoraParams.create(frozen, config.targets(), config.rank(), config.alpha(), 7);
            SplittableRandom rng = new SplittableRandom(5);
            lora.adapters().forEach(a -> {
                float[] b = a.matrix().b();
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) (0.02 * rng.nextGaussian());
                }
            });
            LoraExport.write(lora, start);
            PeftAdapter.write(start, frozen.shape(), null, 0f, startPeft);
        }
        Path out = tmp.resolve("lora-init");
        Path merged = tmp.resolve("merged-q8_0.gguf");
        LoopOptions base = options(out, LoopOptions.PairScheme.BEST_WORST, 1, null);
        DpoOptions dpo = base.dpo().toBuilder().lora(config).initialAdapter(startPeft).merge(merged).mergeType(LoraMerge.Type.Q8_0)
                .learningRate(5e-3).build();
        LoopOptions o = new LoopOptions(model, null, train, out, base.reward(), base.rewardTimeout(), 1, 16, 8, base.sampling(), base.engine(),
                base.pairs(), base.rsoBeta(), base.accept(), base.pairing(), dpo, null, 0, 0, true);
        LoopJob.Result r = run(o);
        System.out.println(r);
        double kl = r.last().sampleKl();
        System.out.printf("lora loop from a PEFT adapter: round 1's samples (base + it) have KL %.4f to the base (tolerance %.0e);"
                + " its first DPO step's chosen reward %.4f%n", kl, KL_TOLERANCE, r.last().dpo().first().rewardsChosen());
        assertThat(Files.readAllBytes(out.resolve("round-0/adapter.gguf"))).as("the PEFT directory read back").isEqualTo(Files.readAllBytes(start));
        assertThat(kl).as("round 1 samples with base + the initial adapter").isGreaterThan(KL_TOLERANCE);
        assertThat(Math.abs(r.last().dpo().first().rewardsChosen())).as("round 1 trains from the initial adapter").isGreaterThan(1e-4);
        assertThat(r.merged()).isEqualTo(merged);
        Path expected = tmp.resolve("expected-q8_0.gguf");
        try (GgufFile b = GgufFile.open(model); GgufFile a = GgufFile.open(r.last().adapter())) {
            LoraMerge.write(b, a, 1f, expected, LoraMerge.Type.Q8_0, 2);
        }
        assertThat(Files.readAllBytes(merged)).as("the last adapter merged, Q8_0").isEqualTo(Files.readAllBytes(expected));
        try (GgufFile m = GgufFile.open(merged)) {
            assertThat(m.integer("general.file_type")).isEqualTo(org.align4j.llama.LlamaFileType.MOSTLY_Q8_0.id());
        }
    }
}
