package org.align4j.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo model's recipe still makes what it recorded. The committed model is checked by llama.cpp's
 * greedy decoding on the first held-out prompts; the recipe itself is re-run at its small configuration
 * ({@link DemoModelRecipe#SMALL}, the same steps cut short) against models/demo/small.metrics.json.
 *
 * <p>Tolerances: on one machine the recipe is bit-reproducible (the trainer's sums do not depend on the
 * thread count), so the loss and the model's SHA-256 repeat exactly. Another CPU may round differently
 * where the Vector API's lane count enters a reduction (norms, softmax) or the JVM's {@code Math.exp}
 * differs by an ulp, so the loss is compared to 1e-3 nats and an accuracy to 2 prompts in 100 (greedy
 * decoding flips only where two tokens are nearly tied); a differing SHA-256 is reported, not failed.
 */
class DemoModelRecipeTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double LOSS_TOLERANCE = 1e-3;
    static final double ACCURACY_TOLERANCE = 0.02;

    @TempDir Path tmp;

    static JsonNode recorded(String file) throws IOException {
        return JSON.readTree(DemoSetsTest.committedSets().resolve(file).toFile());
    }

    @Test
    void theCommittedModelHasItsRecordedHeldOutAccuracyAndRecipe() throws IOException {
        Path sets = DemoSetsTest.committedSets();
        JsonNode m = recorded("demo.metrics.json");
        DemoModelRecipe r = DemoModelRecipe.DEFAULT;
        assertThat(m.get("seed").asLong()).isEqualTo(r.seed());
        assertThat(m.get("sft_steps").asInt()).isEqualTo(r.steps());
        assertThat(m.get("batch_size").asInt()).isEqualTo(r.batchSize());
        assertThat(m.get("learning_rate").asDouble()).isEqualTo(r.learningRate());
        assertThat(m.get("warmup_steps").asInt()).isEqualTo(r.warmupSteps());
        assertThat(m.get("schedule").asText()).isEqualTo(r.schedule().cliName());
        assertThat(m.get("sha256").asText()).as("models/demo/demo.gguf is the model the metrics describe")
                .isEqualTo(DemoModelRecipe.sha256(sets.resolve("demo.gguf")));
        int prompts = m.get("check_prompts").asInt();
        double accuracy = DemoModelRecipe.evaluate(sets.resolve("demo.gguf"), sets, tmp, prompts);
        System.out.printf("demo.gguf: greedy accuracy %.3f on the first %d held-out prompts, recorded %.3f (all %d: %.3f)%n",
                accuracy, prompts, m.get("check_greedy_accuracy").asDouble(), m.get("heldout_prompts").asInt(),
                m.get("heldout_greedy_accuracy").asDouble());
        assertThat(accuracy).isCloseTo(m.get("check_greedy_accuracy").asDouble(), within(ACCURACY_TOLERANCE));
        assertThat(m.get("heldout_greedy_accuracy").asDouble()).as("partial skill").isBetween(0.3, 0.7);
    }

    @Test
    void theSmallRecipeReproducesItsRecordedFigures() throws IOException {
        Path sets = DemoSetsTest.committedSets();
        JsonNode want = recorded("small.metrics.json");
        StringWriter log = new StringWriter();
        DemoModelRecipe.Metrics got = DemoModelRecipe.SMALL.make(sets, tmp.resolve("small.gguf"), tmp.resolve("small.metrics.json"),
                tmp.resolve("work"), 2, new PrintWriter(log, true));
        System.out.print(log);
        boolean sameBytes = got.sha256().equals(want.get("sha256").asText());
        System.out.printf("small recipe: final loss %.6f (recorded %.6f), greedy accuracy %.3f (recorded %.3f); model bytes %s%n",
                got.finalLoss(), want.get("final_loss").asDouble(), got.heldoutAccuracy(), want.get("heldout_greedy_accuracy").asDouble(),
                sameBytes ? "identical to the recorded run's" : "differ from the recorded run's (another CPU's rounding?)");
        assertThat(got.finalLoss()).isCloseTo(want.get("final_loss").asDouble(), within(LOSS_TOLERANCE));
        assertThat(got.heldoutAccuracy()).isCloseTo(want.get("heldout_greedy_accuracy").asDouble(), within(ACCURACY_TOLERANCE));
        assertThat(JSON.readTree(Files.readString(tmp.resolve("small.metrics.json"))).get("sft_steps").asInt())
                .isEqualTo(DemoModelRecipe.SMALL.steps());
    }
}
