package org.align4j.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.JsonlWriter;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.RewardHead;
import org.align4j.gguf.RewardModelFile;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.RejectsWriter;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.rm.RmData;
import org.align4j.rm.RmOptions;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.Sequence;

/**
 * A reward model for the demo task, what the demo's RLHF step and {@code RmDemoTest} share: preference pairs built
 * from the demo's prompt records (chosen: the right sum; rejected: another number in the range of the task's sums),
 * the training recipe, and the pairwise accuracy of a trained model on held-out pairs.
 */
public final class DemoRewardModel {
    /** Sums of the task lie in [0, {@value}): 999 + 999 = 1998. */
    static final long SUM_BOUND = 1999;

    private DemoRewardModel() {}

    /**
     * Writes a pair for each of the first {@code count} records (prompt, answer) of {@code prompts} to {@code file}:
     * chosen the answer, rejected a number drawn with {@code seed} from [0, {@value #SUM_BOUND}) other than it.
     */
    public static Path writePairs(Path prompts, int count, Path file, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        try (JsonlReader r = JsonlReader.open(prompts); JsonlWriter w = JsonlWriter.create(file)) {
            r.stream().limit(count).forEach(line -> {
                JsonNode record = ((JsonlLine.Parsed) line).node();
                long sum = Long.parseLong(record.get("answer").asText());
                long wrong = sum;
                while (wrong == sum) {
                    wrong = rng.nextLong(0, SUM_BOUND);
                }
                ObjectNode o = JsonNodeFactory.instance.objectNode();
                o.put("prompt", record.get("prompt").asText());
                o.put("chosen", Long.toString(sum));
                o.put("rejected", Long.toString(wrong));
                w.write(o);
            });
        }
        return file;
    }

    /**
     * The recipe: from {@code model} on {@code pairs} into {@code out}, learning rate 3e-3, batches of 16, 2 epochs,
     * 4 warm-up steps (256 pairs: 32 steps).
     */
    public static RmOptions.Builder options(Path model, Path pairs, Path out, int threads) {
        return RmOptions.builder(model, pairs, out).learningRate(3e-3).batchSize(16).epochs(2).warmupSteps(4).threads(threads);
    }

    /** Fraction of {@code pairs} that the reward model file {@code rm} (its head from its metadata) ranks right. */
    public static double pairwiseAccuracy(Path rm, Path pairs, int threads) {
        try (GgufFile f = GgufFile.open(rm)) {
            return pairwiseAccuracy(rm, RewardHead.read(f, RewardModelFile.hiddenSize(f)), pairs, threads);
        }
    }

    /** Fraction of {@code pairs} that {@code model} with {@code head} ranks right (r_chosen > r_rejected), through the trainer's forward. */
    public static double pairwiseAccuracy(Path model, RewardHead head, Path pairs, int threads) {
        RmData data;
        try (Model vocab = Model.load(model, ModelOptions.VOCAB_ONLY);
             RejectsWriter rejects = RejectsWriter.create(pairs)) {
            data = RmData.read(pairs, vocab.vocab(), new LlamaChatRenderer(vocab), 64, vocab.vocab().nTokens(), ErrorPolicy.FAIL, rejects);
        }
        LlamaParams params = LlamaParams.load(model);
        List<Sequence> batch = new ArrayList<>();
        for (RmData.Pair p : data.pairs()) {
            batch.add(p.chosenSequence(false));
            batch.add(p.rejectedSequence());
        }
        float[] hidden; // (2 * pairs, C): chosen, rejected, chosen, ...
        try (LlamaTrainer trainer = new LlamaTrainer(params, threads)) {
            hidden = trainer.lastHidden(batch);
        }
        int c = params.shape().embd();
        int right = 0;
        for (int i = 0; i < data.size(); i++) {
            right += head.reward(hidden, 2 * i * c) > head.reward(hidden, (2 * i + 1) * c) ? 1 : 0;
        }
        return (double) right / data.size();
    }
}
