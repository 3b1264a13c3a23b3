package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.gguf.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's timings: the output layer's matmul estimate apportions wall time in the ratio of its
 * tasks' thread times, and after a forward and backward every timed part is positive and the parts
 * fit inside the passes' wall time.
 */
class TrainerTimingsTest {
    @TempDir Path tmp;

    @Test
    void taskClockApportionsWallTimeByThreadTime() {
        TrainerTimings.TaskClock clock = new TrainerTimings.TaskClock(3);
        clock.set(0, 100, 50);
        clock.set(1, 300, 150);
        // task 2 never ran: it counts for nothing
        assertThat(clock.matmulPart(1000)).isCloseTo(500, within(1e-9));
        assertThat(new TrainerTimings.TaskClock(2).matmulPart(1000)).isZero();
    }

    @Test
    void forwardAndBackwardFillEveryPartWithinThePasses() {
        Path model = TrainerTestModels.write(tmp, "tiny", TrainerTestModels.TINY.shape(), GgmlType.F32, 3);
        SplittableRandom rng = new SplittableRandom(5);
        List<Sequence> batch = new ArrayList<>();
        for (int s = 0; s < 4; s++) {
            batch.add(new Sequence(TrainerTestModels.tokens(rng, 48, 32000), 16));
        }
        try (LlamaTrainer trainer = new LlamaTrainer(LlamaParams.load(model), 2)) {
            trainer.forward(batch);
            trainer.backward(new double[] {1, -1, 1, -1});
            TrainerTimings t = trainer.timings();
            double parts = t.blockMatmulSeconds() + t.outputMatmulSeconds() + t.outputOtherSeconds() + t.attentionSeconds();
            System.out.printf("tiny, 4 x 48 tokens, 2 threads: passes %.4f s; %s%n", t.passSeconds(), t.describe(t.passSeconds()));
            assertThat(t.blockMatmulSeconds()).isPositive();
            assertThat(t.outputMatmulSeconds()).isPositive();
            assertThat(t.outputOtherSeconds()).isPositive();
            assertThat(t.attentionSeconds()).isPositive();
            assertThat(t.optimizerSeconds()).isZero();
            assertThat(parts).isLessThanOrEqualTo(t.passSeconds());
            assertThat(t.matmulSeconds()).isCloseTo(t.blockMatmulSeconds() + t.outputMatmulSeconds(), within(1e-12));
            assertThat(t.otherPassSeconds()).isCloseTo(t.passSeconds() - parts, within(1e-9));
        }
    }
}
