package org.align4j.engine;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.align4j.llama.ContextOptions;
import org.junit.jupiter.api.Test;

/** The engine's options refuse, up front and naming the option, what would crash llama.cpp or run out of heap. */
class OptionLimitsTest {
    @Test
    void threadsAreCappedAtGgmlsMaximum() {
        int max = ContextOptions.MAX_THREADS;
        assertThatCode(() -> new SamplerOptions(64, 16, 4, max)).doesNotThrowAnyException();
        assertThatCode(() -> new ScorerOptions(64, 16, 4, max, true)).doesNotThrowAnyException();
        assertThatCode(() -> new ContextOptions(64, 16, 16, 1, max, true)).doesNotThrowAnyException();
        for (int threads : new int[] {max + 1, 20000, Integer.MAX_VALUE}) {
            assertThatThrownBy(() -> new SamplerOptions(64, 16, 4, threads)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("--threads " + threads + " is more than the " + max).hasMessageContaining("lower --threads");
            assertThatThrownBy(() -> new ScorerOptions(64, 16, 4, threads, true)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("--threads " + threads);
            assertThatThrownBy(() -> new ContextOptions(64, 16, 16, 1, threads, true)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("nThreads " + threads);
        }
    }

    @Test
    void completionsPerPromptMustFitInTheHeap() {
        SamplingParams p = new SamplingParams(1f, 0, 1f, 0f, 1f, 0, 256, List.of(), 0, false);
        assertThatCode(() -> ContinuousBatchSampler.checkCompletions(64, p, "-n")).doesNotThrowAnyException();
        // at least 8 bytes a token (id and log-prob) and 128 a completion
        long fitting = Runtime.getRuntime().maxMemory() / (8L * 256 + ContinuousBatchSampler.COMPLETION_OVERHEAD_BYTES);
        assertThatCode(() -> ContinuousBatchSampler.checkCompletions((int) Math.min(fitting, Integer.MAX_VALUE), p, "-n"))
                .doesNotThrowAnyException();
        if (fitting < Integer.MAX_VALUE) {
            assertThatThrownBy(() -> ContinuousBatchSampler.checkCompletions((int) fitting + 1, p, "--candidates"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--candidates " + (fitting + 1) + " completions")
                    .hasMessageContaining("lower --candidates or --max-tokens");
        }
        assertThatThrownBy(() -> ContinuousBatchSampler.checkCompletions(Integer.MAX_VALUE, p, "-n"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than the Java heap");
    }
}
