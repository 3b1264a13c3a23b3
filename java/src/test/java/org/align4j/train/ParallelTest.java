package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ParallelTest {
    @Test
    void aPoolOfItsOwnHasOneToMaxThreads() {
        try (Parallel p = Parallel.ofThreads(Parallel.MAX_THREADS)) { // workers start with work, and there is none
            assertThat(p.threads()).isEqualTo(LlamaTrainer.MAX_THREADS);
        }
        for (int threads : new int[] {0, Parallel.MAX_THREADS + 1, 20000}) {
            assertThatThrownBy(() -> Parallel.ofThreads(threads)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("1 to " + Parallel.MAX_THREADS + ", not " + threads);
        }
    }
}
