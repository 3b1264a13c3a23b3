package org.align4j.reward;

import static org.align4j.reward.RewardTestModels.texts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import org.align4j.Align4jException;
import org.junit.jupiter.api.Test;

/** match: and regex:, the rewards that read only text. */
class RuleRewardsTest {
    private static double[] score(String spec, RewardInput in) {
        try (Reward r = Rewards.parse(spec, RewardTestModels.context(RewardContext.DEFAULT_TIMEOUT))) {
            return r.score(in);
        }
    }

    @Test
    void matchComparesTheLastNumberWithANumericField() {
        RewardInput in = texts("q1", "{\"prompt\":\"2+2*8?\",\"answer\":\"18\"}",
                "2*8 = 16, plus 2 makes 18.",           // last number
                "So the total is $18.00",               // decimal and dollar sign
                "16 + 2 = 18\n#### 18",                 // GSM8K
                "The answer is \\boxed{18}. Check: 18 - 2 = 16", // boxed wins over later numbers
                "2 + 2 = 4, times 8 is 32",             // wrong
                "18 or maybe 17",                       // the last number counts
                "#### 18 apples",                       // number inside the #### answer
                "no idea");
        assertThat(score("match:answer", in)).containsExactly(1, 1, 1, 1, 0, 0, 1, 0);
    }

    @Test
    void matchReadsNumbersWithThousandsSeparatorsSignsAndJsonNumberFields() {
        assertThat(score("match:answer", texts("a", "{\"prompt\":\"p\",\"answer\":1000}",
                "It costs 1,000 dollars.", "It costs 1000.0", "It costs 10,00", "-1000"))).containsExactly(1, 1, 0, 0);
        assertThat(score("match:answer", texts("b", "{\"prompt\":\"p\",\"answer\":\"-3.5\"}",
                "x = -3.50", "x = 3.5", "5-3.5"))).containsExactly(1, 0, 0);
        // A GSM8K solution as the field: its #### answer is the expected value.
        assertThat(score("match:answer", texts("c", "{\"prompt\":\"p\",\"answer\":\"6 * 12 = 72\\n#### 72\"}",
                "72", "#### 72", "12"))).containsExactly(1, 1, 0);
    }

    @Test
    void matchComparesTextOfTheBoxedOrLastLineIgnoringCaseAndATrailingPeriod() {
        RewardInput in = texts("t", "{\"prompt\":\"Capital of France?\",\"gold\":\"Paris\"}",
                "Let me think.\nParis.",
                "It is \\boxed{\\text{paris}}",
                "\\boxed{Paris}",
                "#### PARIS\n(final)",
                "Paris is the capital.\nLyon",
                "The answer is Paris");
        assertThat(score("match:gold", in)).containsExactly(1, 0, 1, 1, 0, 0);
        assertThat(score("match:gold", texts("f", "{\"prompt\":\"p\",\"gold\":\"\\\\frac{1}{2}\"}",
                "so $\\boxed{\\frac{1}{2}}$", "\\boxed{\\frac{1}{3}}"))).containsExactly(1, 0);
    }

    @Test
    void finalAnswerParts() {
        assertThat(FinalAnswer.answerPart("a \\boxed{x{y}z} b \\boxed{q")).isEqualTo("x{y}z");
        assertThat(FinalAnswer.answerPart("work\n#### 42 \nmore")).isEqualTo("42");
        assertThat(FinalAnswer.answerPart("plain")).isNull();
        assertThat(FinalAnswer.lastNumber("1,234,567 and 0.5")).isEqualByComparingTo(new BigDecimal("0.5"));
        assertThat(FinalAnswer.lastNumber("total 1,234,567")).isEqualByComparingTo(new BigDecimal("1234567"));
        assertThat(FinalAnswer.asNumber("$1,000.")).isEqualByComparingTo(new BigDecimal("1000"));
        assertThat(FinalAnswer.asNumber("12 apples")).isNull();
        assertThat(FinalAnswer.finalText("\n  first\n  last one  \n\n")).isEqualTo("last one");
    }

    @Test
    void matchWithoutTheFieldIsAnErrorNamingTheRecord() {
        assertThatThrownBy(() -> score("match:answer", texts("rec-9", "{\"prompt\":\"p\"}", "18")))
                .isInstanceOf(Align4jException.class)
                .hasMessage("record rec-9: reward match:answer needs a field \"answer\" holding the expected answer, and the record has none");
        assertThatThrownBy(() -> score("match:answer", texts("rec-10", "{\"prompt\":\"p\",\"answer\":[1]}", "1")))
                .isInstanceOf(Align4jException.class)
                .hasMessage("record rec-10: reward match:answer: field \"answer\" must be a string or a number, not array");
    }

    @Test
    void regexFindsThePatternAnywhere() {
        RewardInput in = texts("r", "{\"prompt\":\"p\"}", "Answer: yes", "answer: YES", "no", "");
        assertThat(score("regex:Answer: (yes|no)", in)).containsExactly(1, 0, 0, 0);
        assertThat(score("regex:(?i)^answer: yes$", in)).containsExactly(1, 1, 0, 0);
        assertThat(score("regex:^$", in)).containsExactly(0, 0, 0, 1);
        assertThatThrownBy(() -> RewardSpec.parse("regex:[a-")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--reward 'regex:[a-': bad PATTERN: ");
    }

    @Test
    void noCompletionsNoRewards() {
        assertThat(score("regex:x", texts("e", "{\"prompt\":\"p\"}"))).isEmpty();
        assertThat(score("match:answer", texts("e", "{\"prompt\":\"p\",\"answer\":1}"))).isEmpty();
    }
}
