package org.align4j.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.reward.RewardContext;
import org.align4j.reward.Reward;
import org.align4j.llama.ModelOptions;
import org.align4j.llama.Model;
import org.align4j.job.RewardStage;
import org.align4j.bon.SampleJob;
import org.align4j.bon.BonJob;
import org.align4j.job.RunManifest;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.SynthPreset;
import org.align4j.gguf.SyntheticLlama;
import org.align4j.loop.Samples;
import org.align4j.train.LrSchedule;
import org.align4j.dpo.SftJob;
import org.align4j.dpo.SftOptions;

/**
 * The recipe of the default demo model: the {@code demo} preset with seeded random weights, trained from
 * scratch by {@link SftJob} on {@code sft.jsonl} to partial skill, exported as F16, then evaluated by
 * greedy decoding in llama.cpp on held-out prompts with {@code match:answer}. Its figures go to a
 * metrics file beside the model ({@code demo.metrics.json}); models/demo/recipe.md gives the numbers.
 *
 * <p>Every step is a function of the seeds and the data (the trainer's sums do not depend on the
 * thread count), so a machine makes the same file every time; {@link #SMALL} is the same recipe cut
 * short, which a test runs to check that the recipe still reproduces its recorded figures.
 *
 * @param seed         the synthetic model's weights and the SFT data order
 * @param steps        SFT optimizer steps
 * @param batchSize    records per step
 * @param learningRate peak rate, reached by linear warm-up over {@code warmupSteps}
 * @param schedule     the rate after warm-up: the demo model keeps it constant and stops early, so that its
 *                     skill is partial and not yet sharpened by a decay to 0 (which leaves preference
 *                     training little to move)
 * @param evalPrompts  held-out prompts the greedy evaluation covers (the first ones of the file)
 */
public record DemoModelRecipe(String name, long seed, int steps, int batchSize, double learningRate, int warmupSteps,
                              LrSchedule.Kind schedule, int evalPrompts) {
    /** The committed demo model, models/demo/demo.gguf. */
    public static final DemoModelRecipe DEFAULT = new DemoModelRecipe("demo", 1, 2000, 32, 1e-3, 50, LrSchedule.Kind.CONSTANT, 500);
    /** The same recipe, short: what a test re-runs (figures in models/demo/small.metrics.json). */
    public static final DemoModelRecipe SMALL = new DemoModelRecipe("small", 1, 200, 32, 1e-3, 50, LrSchedule.Kind.CONSTANT, 100);
    /** Held-out prompts (the first ones) of the quick check of the committed model's accuracy. */
    public static final int CHECK_PROMPTS = 100;

    static final String PRESET = "demo";
    /** Greedy evaluation: answers are at most 4 digits and EOS; a rambling model is cut after this many tokens. */
    static final int EVAL_MAX_TOKENS = 8;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** What the recipe gave. */
    /**
     * What the recipe gave.
     *
     * @param heldoutAccuracy greedy accuracy on the first {@code heldoutPrompts} held-out prompts
     * @param checkAccuracy   the same on the first {@link #CHECK_PROMPTS} of them
     */
    public record Metrics(double finalLoss, double heldoutAccuracy, int heldoutPrompts, double checkAccuracy, String sha256,
                          double trainSeconds) {}

    /**
     * Makes {@code model} (a GGUF) and {@code metrics} (JSON) from the sets in {@code sets} (models/demo/);
     * scratch files go to {@code work}.
     */
    public Metrics make(Path sets, Path model, Path metrics, Path work, int threads, PrintWriter log) {
        try {
            Files.createDirectories(work);
            Path start = work.resolve(name + "-init.gguf");
            SynthPreset preset = SynthPreset.named(PRESET);
            SyntheticLlama.write(start, PRESET, preset.shape(), preset.tokenizer(), GgmlType.F32, seed);
            Path checkpoint = work.resolve(name + ".sft.ckpt"); // scratch: the recipe always starts afresh
            Files.deleteIfExists(checkpoint);
            SftJob.Result sft = new SftJob(SftOptions.builder(start, sets.resolve(DemoSets.SFT_FILE), model)
                    .metrics(work.resolve(name + ".sft.metrics.jsonl")).checkpoint(checkpoint).saveEvery(0)
                    .outType(GgmlType.F16).learningRate(learningRate)
                    .batchSize(batchSize).maxSteps(steps).warmupSteps(warmupSteps).schedule(schedule)
                    .seed(seed).threads(threads).build(), log).run();
            log.println(sft);
            double accuracy = evaluate(model, sets, work, evalPrompts);
            double check = evaluate(model, sets, work, Math.min(CHECK_PROMPTS, evalPrompts));
            Metrics m = new Metrics(sft.last().loss(), accuracy, evalPrompts, check, sha256(model), sft.seconds());
            Files.writeString(metrics, JSON.writeValueAsString(json(m)) + "\n");
            log.printf(Locale.ROOT, "%s: held-out greedy accuracy %.3f on %d prompts (%.3f on the first %d), final loss %.4f, sha256 %s%n",
                    model, accuracy, evalPrompts, check, Math.min(CHECK_PROMPTS, evalPrompts), m.finalLoss(), m.sha256());
            log.flush();
            return m;
        } catch (IOException e) {
            throw new Align4jException(metrics + ": " + IoMessages.describe(e), e);
        }
    }

    /**
     * Greedy accuracy of {@code model} under {@code match:answer} on the first {@code prompts} held-out prompts,
     * decoded by llama.cpp.
     */
    public static double evaluate(Path model, Path sets, Path work, int prompts) {
        try {
            Files.createDirectories(work);
            Path subset = work.resolve("heldout-" + prompts + ".jsonl");
            List<String> lines = Files.readAllLines(sets.resolve(DemoSets.HELDOUT_FILE), StandardCharsets.UTF_8);
            Files.write(subset, lines.subList(0, Math.min(prompts, lines.size())), StandardCharsets.UTF_8);
            Path out = work.resolve("greedy-" + prompts + ".jsonl");
            Files.deleteIfExists(out);
            try (Model m = Model.load(model, ModelOptions.inference(0));
                 Reward reward = RewardStage.open("match:answer", model, engine(), 0, RewardContext.DEFAULT_TIMEOUT)) {
                return BonJob.run(m, reward, SampleJob.Options.of(subset, out, 1, engine(), greedy()).withQuiet(true))
                        .curve().points().getFirst().meanReward();
            }
        } catch (IOException e) {
            throw new Align4jException(work + ": " + IoMessages.describe(e), e);
        }
    }

    static SamplingParams greedy() {
        return new SamplingParams(0f, 0, 1f, 0f, 1f, 64, EVAL_MAX_TOKENS, List.of(), 0);
    }

    /**
     * llama.cpp on one thread: the demo model's matrices are so small that a second thread costs more in
     * synchronisation than it saves (and far more when the cores are shared).
     */
    static SamplerOptions engine() {
        return new SamplerOptions(32, 2048, 256, 1);
    }

    ObjectNode json(Metrics m) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("model", name + ".gguf");
        o.put("preset", PRESET);
        o.put("seed", seed);
        o.put("sft_steps", steps);
        o.put("batch_size", batchSize);
        o.put("learning_rate", learningRate);
        o.put("warmup_steps", warmupSteps);
        o.put("schedule", schedule.cliName());
        o.put("final_loss", m.finalLoss());
        o.put("heldout_prompts", m.heldoutPrompts());
        o.put("heldout_greedy_accuracy", m.heldoutAccuracy());
        o.put("check_prompts", Math.min(CHECK_PROMPTS, m.heldoutPrompts()));
        o.put("check_greedy_accuracy", m.checkAccuracy());
        o.put("sha256", m.sha256());
        return o;
    }

    static String sha256(Path file) {
        return RunManifest.sha256(file);
    }

    /**
     * {@code DemoModelRecipe [--small] [--threads N] [SETS_DIR]} (what {@code make models} runs): {@link #DEFAULT}
     * writes SETS_DIR/demo.gguf and SETS_DIR/demo.metrics.json; {@link #SMALL} writes only
     * SETS_DIR/small.metrics.json (its model goes to a scratch folder). SETS_DIR defaults to models/demo.
     * For tuning: {@code --seed --steps --batch --lr --warmup --eval --name} change the recipe.
     */
    public static void main(String[] args) throws IOException {
        DemoModelRecipe r = DEFAULT;
        int threads = Runtime.getRuntime().availableProcessors();
        Path sets = Path.of("models/demo");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--small" -> r = SMALL;
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--seed" -> r = new DemoModelRecipe(r.name, Long.parseLong(args[++i]), r.steps, r.batchSize, r.learningRate, r.warmupSteps, r.schedule, r.evalPrompts);
                case "--steps" -> r = new DemoModelRecipe(r.name, r.seed, Integer.parseInt(args[++i]), r.batchSize, r.learningRate, r.warmupSteps, r.schedule, r.evalPrompts);
                case "--batch" -> r = new DemoModelRecipe(r.name, r.seed, r.steps, Integer.parseInt(args[++i]), r.learningRate, r.warmupSteps, r.schedule, r.evalPrompts);
                case "--lr" -> r = new DemoModelRecipe(r.name, r.seed, r.steps, r.batchSize, Double.parseDouble(args[++i]), r.warmupSteps, r.schedule, r.evalPrompts);
                case "--warmup" -> r = new DemoModelRecipe(r.name, r.seed, r.steps, r.batchSize, r.learningRate, Integer.parseInt(args[++i]), r.schedule, r.evalPrompts);
                case "--eval" -> r = new DemoModelRecipe(r.name, r.seed, r.steps, r.batchSize, r.learningRate, r.warmupSteps, r.schedule, Integer.parseInt(args[++i]));
                case "--schedule" -> r = new DemoModelRecipe(r.name, r.seed, r.steps, r.batchSize, r.learningRate, r.warmupSteps, LrSchedule.Kind.named(args[++i]), r.evalPrompts);
                case "--name" -> r = new DemoModelRecipe(args[++i], r.seed, r.steps, r.batchSize, r.learningRate, r.warmupSteps, r.schedule, r.evalPrompts);
                default -> sets = Path.of(args[i]);
            }
        }
        Path work = Files.createTempDirectory("align4j-demo-model");
        Path model = r == SMALL ? work.resolve(r.name + ".gguf") : sets.resolve(r.name + ".gguf");
        r.make(sets, model, sets.resolve(r.name + ".metrics.json"), work, threads, new PrintWriter(System.err, true, StandardCharsets.UTF_8));
    }
}
