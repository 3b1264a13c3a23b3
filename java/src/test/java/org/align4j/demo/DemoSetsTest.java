package org.align4j.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;
import static org.assertj.core.api.Assertions.offset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.align4j.Align4jException;
import org.align4j.demo.AdditionTask.Problem;
import org.align4j.demo.DemoSets.Spec;
import org.align4j.demo.DemoSets.Split;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoSetsTest {
    @TempDir Path dir;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** models/demo/ of this checkout (tests run in java/). */
    static Path committedSets() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path demo = p.resolve("models").resolve("demo");
            if (Files.isRegularFile(demo.resolve(DemoSets.HELDOUT_FILE))) {
                return demo;
            }
        }
        throw new AssertionError("no models/demo/" + DemoSets.HELDOUT_FILE + " above " + Path.of("").toAbsolutePath());
    }

    static List<JsonNode> records(Path file) {
        try {
            List<JsonNode> out = new ArrayList<>();
            for (String line : Files.readAllLines(file)) {
                out.add(JSON.readTree(line));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void theCommittedSetsAreWhatTheGeneratorWritesAndTwoRunsAreByteIdentical() throws IOException {
        Path a = dir.resolve("a"), b = dir.resolve("b");
        DemoSets.write(Spec.DEFAULT, a);
        DemoSets.write(Spec.DEFAULT, b);
        Path committed = committedSets();
        for (String f : List.of(DemoSets.HELDOUT_FILE, DemoSets.TRAIN_FILE, DemoSets.SFT_FILE)) {
            byte[] first = Files.readAllBytes(a.resolve(f));
            assertThat(Arrays.mismatch(first, Files.readAllBytes(b.resolve(f)))).as("%s: first differing byte of two runs", f).isEqualTo(-1);
            assertThat(Arrays.mismatch(first, Files.readAllBytes(committed.resolve(f))))
                    .as("%s: first byte where models/demo differs from the generator (regenerate, models/demo/README.md)", f)
                    .isEqualTo(-1);
        }
    }

    @Test
    void anotherSeedGivesOtherSets() {
        Spec other = new Spec(Spec.DEFAULT.seed() + 1, AdditionTask.DEFAULT, 50, 50, 50);
        Spec same = new Spec(Spec.DEFAULT.seed(), AdditionTask.DEFAULT, 50, 50, 50);
        assertThat(DemoSets.generate(other).heldout()).isNotEqualTo(DemoSets.generate(same).heldout());
    }

    @Test
    void aSetDoesNotDependOnTheSizesOfTheOthers() {
        DemoSets.Sets small = DemoSets.generate(new Spec(3, AdditionTask.DEFAULT, 10, 20, 30));
        DemoSets.Sets large = DemoSets.generate(new Spec(3, AdditionTask.DEFAULT, 100, 200, 300));
        assertThat(large.heldout()).startsWith(small.heldout().toArray(Problem[]::new));
        assertThat(large.train()).startsWith(small.train().toArray(Problem[]::new));
        assertThat(large.sft()).startsWith(small.sft().toArray(Problem[]::new));
    }

    @Test
    void committedSetsAreDisjointEvenUpToOperandOrderAndHoldCorrectAnswers() {
        Path committed = committedSets();
        List<JsonNode> heldout = records(committed.resolve(DemoSets.HELDOUT_FILE));
        List<JsonNode> train = records(committed.resolve(DemoSets.TRAIN_FILE));
        List<JsonNode> sft = records(committed.resolve(DemoSets.SFT_FILE));
        assertThat(heldout).hasSize(Spec.DEFAULT.heldout());
        assertThat(train).hasSize(Spec.DEFAULT.train());
        assertThat(sft).hasSize(Spec.DEFAULT.sft());

        Set<String> heldoutSums = sums(heldout, "answer", true);
        Set<String> trainSums = sums(train, "answer", true);
        Set<String> sftSums = sums(sft, "completion", false);
        System.out.printf("distinct unordered sums: held-out %d, train %d, sft %d%n", heldoutSums.size(), trainSums.size(), sftSums.size());
        assertThat(heldoutSums).doesNotContainAnyElementsOf(trainSums).doesNotContainAnyElementsOf(sftSums);
        assertThat(trainSums).doesNotContainAnyElementsOf(sftSums);

        assertThat(heldout.getFirst().toString()).isEqualTo("{\"id\":\"heldout-000\",\"prompt\":\"" + heldout.getFirst().get("prompt").asText()
                + "\",\"answer\":\"" + heldout.getFirst().get("answer").asText() + "\"}");
        assertThat(train.getLast().get("id").asText()).isEqualTo("train-1999");
        assertThat(sft.getFirst().properties()).extracting(e -> e.getKey()).containsExactly("prompt", "completion");
    }

    /** Each record's operands as "small+large", checking its sum and (for prompt sets) that no prompt repeats. */
    private static Set<String> sums(List<JsonNode> records, String answerField, boolean distinctPrompts) {
        Set<String> prompts = new HashSet<>();
        Set<String> pairs = new HashSet<>();
        for (JsonNode r : records) {
            String prompt = r.get("prompt").asText();
            assertThat(prompt).matches("(0|[1-9][0-9]{0,2})\\+(0|[1-9][0-9]{0,2})=");
            String[] ab = prompt.substring(0, prompt.length() - 1).split("\\+");
            long a = Long.parseLong(ab[0]), b = Long.parseLong(ab[1]);
            assertThat(r.get(answerField).asText()).as(prompt).isEqualTo(Long.toString(a + b));
            if (distinctPrompts) {
                assertThat(prompts.add(prompt)).as("repeated prompt %s", prompt).isTrue();
            }
            pairs.add(Math.min(a, b) + "+" + Math.max(a, b));
        }
        return pairs;
    }

    @Test
    void theSplitIsAFunctionOfTheUnorderedPairGivingEachSplitItsShare() {
        long seed = Spec.DEFAULT.seed();
        int[] counts = new int[Split.values().length];
        int pairs = 0;
        for (long a = 0; a < 1000; a++) {
            for (long b = a; b < 1000; b++) {
                Split s = DemoSets.splitOf(new Problem(a, b), seed);
                counts[s.ordinal()]++;
                pairs++;
                if (b % 97 == 0) {
                    assertThat(DemoSets.splitOf(new Problem(b, a), seed)).isEqualTo(s);
                }
            }
        }
        for (Split s : Split.values()) {
            double share = (double) counts[s.ordinal()] / pairs;
            System.out.printf("split %s: %.4f of the %d unordered pairs of operands below 1000 (stated %.2f, tolerance 0.005)%n",
                    s, share, pairs, s.share);
            assertThat(share).isCloseTo(s.share, offset(0.005));
        }
    }

    @Test
    void operandLengthsFollowTheTask() {
        AdditionTask twoToFour = new AdditionTask(2, 4);
        SplittableRandom rng = new SplittableRandom(5);
        Set<Integer> lengths = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            Problem p = twoToFour.sample(rng);
            lengths.add(AdditionTask.digits(p.a()));
            lengths.add(AdditionTask.digits(p.b()));
        }
        assertThat(lengths).containsExactlyInAnyOrder(2, 3, 4);
        assertThat(DemoSets.digitClasses(List.of(new Problem(0, 999), new Problem(5, 100), new Problem(10, 1))))
                .containsExactly(entry("1+3", 2), entry("2+1", 1));
        assertThatThrownBy(() -> new AdditionTask(0, 3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new AdditionTask(3, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new AdditionTask(1, 19)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void askingForMoreDistinctPromptsThanASplitHoldsIsAClearError() {
        // one-digit sums: 100 problems, about 10 of them held out
        Spec tooMany = new Spec(1, new AdditionTask(1, 1), 60, 0, 0);
        assertThatThrownBy(() -> DemoSets.generate(tooMany)).isInstanceOf(Align4jException.class)
                .hasMessageContaining("60 distinct problems for the HELDOUT split");
    }
}
