package org.align4j.reward;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.engine.ScorerOptions;
import org.align4j.engine.TokenizedRecord;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.RewardHead;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.rm.RmJob;
import org.align4j.rm.RmOptions;
import org.align4j.train.LlamaParams;
import org.align4j.train.LlamaTrainer;
import org.align4j.train.Sequence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The served {@code rm:} reward of an RM file that {@code rm train} wrote equals the trainer's forward score
 * (its f32 pass over the same file's weights, the file's head on the last token's hidden state), within
 * {@value #TOLERANCE}, batched with prefix sharing, without it, and one sequence at a time.
 */
class RewardModelTrainerParityTest {
    static final double TOLERANCE = 1e-3;
    static final Path DEMO = Path.of(System.getProperty("user.dir")).resolveSibling("models/demo/demo.gguf");
    static final String PROMPT = "37+485=";
    static final List<String> COMPLETIONS = List.of("522", "521", "", "5222", "52", "1000", "22");

    @TempDir Path tmp;

    @Test
    void servedRewardEqualsTheTrainersForwardScore() throws Exception {
        Path pairs = tmp.resolve("pairs.jsonl");
        Files.write(pairs, List.of("{\"prompt\": \"12+30=\", \"chosen\": \"42\", \"rejected\": \"41\"}",
                "{\"prompt\": \"5+5=\", \"chosen\": \"10\", \"rejected\": \"100\"}"));
        Path rm = tmp.resolve("rm.gguf");
        // F32 so that llama.cpp and the trainer multiply the same weights (F16 would round llama.cpp's activations too).
        new RmJob(RmOptions.builder(DEMO, pairs, rm).outType(GgmlType.F32).learningRate(1e-3).batchSize(2).maxSteps(3).threads(2)
                .quiet(true).build(), new PrintWriter(new StringWriter())).run();

        double[] trainer = trainerRewards(rm);
        double maxDiff = 0;
        for (ScorerOptions o : List.of(new ScorerOptions(64, 8, 4, 2, true), new ScorerOptions(64, 64, 4, 2, false),
                new ScorerOptions(64, 64, 1, 2, true))) {
            double[] served;
            try (Reward r = Rewards.parse("rm:" + rm, new RewardContext(null, o, 0, RewardContext.DEFAULT_TIMEOUT))) {
                served = r.score(new RewardInput("r1", RewardTestModels.record("{\"prompt\": \"" + PROMPT + "\"}"), PROMPT, new int[] {1},
                        COMPLETIONS.stream().map(t -> new Completion(t, new int[0], Double.NaN)).toList()));
            }
            for (int k = 0; k < served.length; k++) {
                maxDiff = Math.max(maxDiff, Math.abs(served[k] - trainer[k]));
            }
        }
        double spread = java.util.Arrays.stream(trainer).max().orElseThrow() - java.util.Arrays.stream(trainer).min().orElseThrow();
        System.out.printf("rm: served (batched+shared, unshared, alone) vs the trainer's forward on the RM file: max |diff| %.3g over %d"
                + " completions (tolerance %.0e; rewards spread %.3g)%n", maxDiff, COMPLETIONS.size(), TOLERANCE, spread);
        assertThat(maxDiff).isLessThan(TOLERANCE);
        assertThat(spread).isGreaterThan(100 * TOLERANCE);
    }

    // The trainer's f32 forward over the RM file's weights: the head on each prompt + completion's last hidden state.
    static double[] trainerRewards(Path rm) {
        TokenizedRecord t;
        try (Model m = Model.load(rm, ModelOptions.VOCAB_ONLY)) {
            t = TokenizedRecord.ofText(PROMPT, COMPLETIONS.toArray(String[]::new), false, m.vocab());
        }
        LlamaParams params = LlamaParams.load(rm);
        RewardHead head;
        try (GgufFile f = GgufFile.open(rm)) {
            head = RewardHead.read(f, params.shape().embd());
        }
        List<Sequence> batch = new ArrayList<>();
        for (int[] c : t.completions()) {
            int[] s = java.util.Arrays.copyOf(t.prompt(), t.prompt().length + c.length);
            System.arraycopy(c, 0, s, t.prompt().length, c.length);
            batch.add(new Sequence(s, s.length));
        }
        float[] hidden;
        try (LlamaTrainer trainer = new LlamaTrainer(params, 2)) {
            hidden = trainer.lastHidden(batch);
        }
        double[] out = new double[batch.size()];
        for (int k = 0; k < out.length; k++) {
            out[k] = head.reward(hidden, k * params.shape().embd());
        }
        return out;
    }
}
