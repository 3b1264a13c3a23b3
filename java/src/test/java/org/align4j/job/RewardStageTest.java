package org.align4j.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.data.JsonlLine;
import org.align4j.data.PromptRecord;
import org.align4j.engine.Completion;
import org.align4j.engine.FinishReason;
import org.align4j.engine.SampleRequest;
import org.align4j.engine.SampleResult;
import org.align4j.reward.Reward;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardException;
import org.align4j.reward.RewardSpec;
import org.align4j.engine.ScorerOptions;
import org.junit.jupiter.api.Test;

/**
 * The reward stage's contract, once for every job: a wrong count, a non-finite value and a failing reward
 * (here a {@code cmd:} child that never answers) all end as one exception type naming the record by id,
 * and a completion as "completion K of N" (1-based).
 */
class RewardStageTest {
    private static final PromptRecord RECORD = PromptRecord.of(new JsonlLine.Parsed(Path.of("p.jsonl"), 3,
            JsonNodeFactory.instance.objectNode().put("id", "q-7").put("prompt", "2+2=")));
    private static final SampleResult SAMPLED = new SampleResult(new SampleRequest("q-7", "2+2=", new int[] {1, 5}, 3), List.of(
            completion("4"), completion("5"), completion("22")));

    private static Completion completion(String text) {
        return new Completion(new int[] {9}, text, new float[] {-0.5f}, -0.5, FinishReason.EOS);
    }

    /** A reward that answers with fixed values: the stage's checks are what is under test. */
    private static Reward answering(double... values) {
        return new Reward() {
            @Override
            public Identity identity() {
                return new Identity("fixed values", java.util.List.of());
            }

            @Override
            public double[] score(org.align4j.reward.RewardInput prompt) {
                assertThat(prompt.id()).isEqualTo("q-7");
                assertThat(prompt.completions()).extracting(org.align4j.reward.Completion::text).containsExactly("4", "5", "22");
                return values;
            }

            @Override
            public void close() {}
        };
    }

    @Test
    void passesFiniteRewardsThrough() {
        assertThat(new RewardStage(answering(1, 0, 0.5)).score(RECORD, SAMPLED).rewards()).containsExactly(1, 0, 0.5);
    }

    @Test
    void aWrongCountNamesTheRecord() {
        assertThatThrownBy(() -> new RewardStage(answering(1, 0)).score(RECORD, SAMPLED))
                .isExactlyInstanceOf(RewardException.class)
                .hasMessage("record q-7: the reward gave 2 values for 3 completions");
    }

    @Test
    void aNonFiniteRewardNamesTheRecordAndTheCompletionOneBased() {
        assertThatThrownBy(() -> new RewardStage(answering(1, Double.NaN, 0)).score(RECORD, SAMPLED))
                .isExactlyInstanceOf(RewardException.class)
                .hasMessage("record q-7: the reward of completion 2 of 3 is NaN, not a finite number");
        assertThatThrownBy(() -> new RewardStage(answering(1, 0, Double.NEGATIVE_INFINITY)).score(RECORD, SAMPLED))
                .isExactlyInstanceOf(RewardException.class)
                .hasMessageContaining("completion 3 of 3 is -Infinity");
    }

    @Test
    void aTimedOutRewardProcessIsTheSameExceptionNamingTheRecord() {
        RewardContext ctx = new RewardContext(null, new ScorerOptions(64, 64, 4, 1, true), 0, Duration.ofMillis(300));
        try (Reward silent = RewardSpec.parse("cmd:cat > /dev/null").open(ctx)) {
            assertThatThrownBy(() -> new RewardStage(silent).score(RECORD, SAMPLED))
                    .isExactlyInstanceOf(RewardException.class)
                    .isInstanceOf(Align4jException.class)
                    .hasMessageContaining("record q-7")
                    .hasMessageContaining("cat > /dev/null");
        }
    }
}
