package org.align4j.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.align4j.demo.AdditionTask.Problem;
import org.junit.jupiter.api.Test;

class FinalAnswerTest {
    @Test
    void theLastIntegerIsTheFinalAnswer() {
        assertThat(FinalAnswer.isCorrect("522", "522")).isTrue();
        assertThat(FinalAnswer.isCorrect("522", "521")).isFalse();
        assertThat(FinalAnswer.isCorrect("522", "5222")).isFalse();
        assertThat(FinalAnswer.isCorrect("522", "52")).isFalse();
        // extra text around the number
        assertThat(FinalAnswer.isCorrect("522", "the sum is 522.")).isTrue();
        assertThat(FinalAnswer.isCorrect("522", "37+485=522\n")).isTrue();
        assertThat(FinalAnswer.isCorrect("522", " 522 ")).isTrue();
        // an earlier number does not count, the last one does
        assertThat(FinalAnswer.isCorrect("522", "522, no: 523")).isFalse();
        assertThat(FinalAnswer.isCorrect("522", "523, no: 522")).isTrue();
        assertThat(FinalAnswer.isCorrect("522", "522abc")).isTrue();
        // no number at all
        assertThat(FinalAnswer.isCorrect("522", "")).isFalse();
        assertThat(FinalAnswer.isCorrect("522", "five hundred twenty-two")).isFalse();
        assertThat(FinalAnswer.isCorrect("0", "+=")).isFalse();
        // equal as integers
        assertThat(FinalAnswer.isCorrect("522", "0522")).isTrue();
        assertThat(FinalAnswer.isCorrect(" 522\n", "522")).isTrue();
        assertThat(FinalAnswer.isCorrect("0", "0")).isTrue();
        // a sign belongs to the integer; digit groups split it
        assertThat(FinalAnswer.isCorrect("-5", "3-5")).isTrue();
        assertThat(FinalAnswer.isCorrect("5", "3-5")).isFalse();
        assertThat(FinalAnswer.isCorrect("1234", "1,234")).isFalse();
        assertThat(FinalAnswer.isCorrect("99999999999999999999999", "99999999999999999999999")).isTrue();
    }

    @Test
    void lastIntegerIsTheTextAsWritten() {
        assertThat(FinalAnswer.lastInteger("a 007 b")).contains("007");
        assertThat(FinalAnswer.lastInteger("1 then -12")).contains("-12");
        assertThat(FinalAnswer.lastInteger("none")).isEmpty();
    }

    @Test
    void anAnswerThatIsNotAnIntegerIsRefused() {
        assertThatThrownBy(() -> FinalAnswer.isCorrect("5.2", "5")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'5.2'");
    }

    @Test
    void aProblemChecksItsOwnSum() {
        Problem p = new Problem(37, 485);
        assertThat(p.prompt()).isEqualTo("37+485=");
        assertThat(p.answer()).isEqualTo("522");
        assertThat(p.completion()).isEqualTo("522");
        assertThat(p.isCorrect("522")).isTrue();
        assertThat(p.isCorrect("512")).isFalse();
    }
}
