package org.align4j.demo;

import static org.assertj.core.api.Assertions.assertThat;

import org.align4j.demo.AdditionTask.Problem;
import org.junit.jupiter.api.Test;

class AdditionTaskTest {
    @Test
    void aProblemChecksItsOwnSumByTheMatchRule() {
        Problem p = new Problem(37, 485);
        assertThat(p.prompt()).isEqualTo("37+485=");
        assertThat(p.answer()).isEqualTo("522");
        assertThat(p.completion()).isEqualTo("522");
        assertThat(p.isCorrect("522")).isTrue();
        assertThat(p.isCorrect("512")).isFalse();
        assertThat(p.isCorrect("5222")).isFalse();
        assertThat(p.isCorrect("522, no: 523")).as("the last number is the answer").isFalse();
        assertThat(p.isCorrect("")).isFalse();
    }
}
