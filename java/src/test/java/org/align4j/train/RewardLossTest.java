package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.align4j.train.RewardLoss.Pair;
import org.align4j.train.RewardLoss.Result;
import org.junit.jupiter.api.Test;

/**
 * The reward model's loss against its formulas on one worked pair (r_c 1.5, r_r -0.5, logp_c -6 over 3
 * tokens), its derivatives against central differences, and the extremes of the reward gap.
 */
class RewardLossTest {
    static final double FORMULA_TOLERANCE = 1e-12; // relative; both sides are a few double operations
    static final double FD_TOLERANCE = 1e-6; // relative; central differences with step 1e-5 err by ~1e-10

    static void assertClose(String label, double actual, double expected) {
        double rel = Math.abs(actual - expected) / Math.max(Math.abs(expected), Double.MIN_NORMAL);
        System.out.printf("%-36s code %.15g  formula %.15g  rel diff %.2e%n", label, actual, expected, rel);
        assertThat(rel).as(label).isLessThanOrEqualTo(FORMULA_TOLERANCE);
    }

    @Test
    void rankingLossIsInstructGptEquationOne() {
        // -log sigma(r_c - r_r) = -log(1 / (1 + e^-(1.5 + 0.5)))
        assertClose("ranking loss", new RewardLoss(0).compute(new Pair(1.5, -0.5, 0, -6, 3)).loss(),
                -Math.log(1 / (1 + Math.exp(-2.0))));
    }

    @Test
    void marginIsSubtractedAsLlamaTwo() {
        // Llama 2 eq. 2: -log sigma(r_c - r_r - m(r)), m = 0.75
        assertClose("ranking loss, margin 0.75", new RewardLoss(0).compute(new Pair(1.5, -0.5, 0.75, -6, 3)).loss(),
                -Math.log(1 / (1 + Math.exp(-(2.0 - 0.75)))));
    }

    @Test
    void imitationTermIsTheChosenNllPerToken() {
        // + lmCoef * (-logp_c / L_c) = 0.5 * 6 / 3
        assertClose("ranking + imitation, coef 0.5", new RewardLoss(0.5).compute(new Pair(1.5, -0.5, 0.25, -6, 3)).loss(),
                -Math.log(1 / (1 + Math.exp(-(2.0 - 0.25)))) + 0.5 * 6 / 3);
    }

    @Test
    void derivativesMatchCentralDifferences() {
        RewardLoss loss = new RewardLoss(0.3);
        Pair p = new Pair(0.4, 1.1, 0.2, -7.5, 4);
        Result r = loss.compute(p);
        double h = 1e-5;
        double[] numeric = {
            (loss.compute(new Pair(p.chosenReward() + h, p.rejectedReward(), p.margin(), p.chosenLogp(), 4)).loss()
                    - loss.compute(new Pair(p.chosenReward() - h, p.rejectedReward(), p.margin(), p.chosenLogp(), 4)).loss()) / (2 * h),
            (loss.compute(new Pair(p.chosenReward(), p.rejectedReward() + h, p.margin(), p.chosenLogp(), 4)).loss()
                    - loss.compute(new Pair(p.chosenReward(), p.rejectedReward() - h, p.margin(), p.chosenLogp(), 4)).loss()) / (2 * h),
            (loss.compute(new Pair(p.chosenReward(), p.rejectedReward(), p.margin(), p.chosenLogp() + h, 4)).loss()
                    - loss.compute(new Pair(p.chosenReward(), p.rejectedReward(), p.margin(), p.chosenLogp() - h, 4)).loss()) / (2 * h)};
        double[] analytic = {r.dChosenReward(), r.dRejectedReward(), r.dChosenLogp()};
        String[] names = {"d/d r_c", "d/d r_r", "d/d logp_c"};
        for (int i = 0; i < 3; i++) {
            double rel = Math.abs(analytic[i] - numeric[i]) / Math.abs(numeric[i]);
            System.out.printf("%-12s analytic %.12g numeric %.12g rel diff %.2e (tolerance %.0e)%n", names[i], analytic[i], numeric[i], rel, FD_TOLERANCE);
            assertThat(rel).as(names[i]).isLessThanOrEqualTo(FD_TOLERANCE);
        }
    }

    @Test
    void extremeGapsStayFinite() {
        Result right = new RewardLoss(0).compute(new Pair(1e4, -1e4, 0, 0, 1));
        Result wrong = new RewardLoss(0).compute(new Pair(-1e4, 1e4, 0, 0, 1));
        assertThat(right.loss()).isEqualTo(0.0);
        assertThat(right.dChosenReward()).isEqualTo(-0.0);
        assertThat(wrong.loss()).isEqualTo(2e4);
        assertThat(wrong.dChosenReward()).isEqualTo(-1.0);
        assertThat(wrong.dRejectedReward()).isEqualTo(1.0);
    }

    @Test
    void refusesNonFiniteInputsAndEmptyChosen() {
        assertThatThrownBy(() -> new RewardLoss(-1)).hasMessageContaining("imitation coefficient");
        assertThatThrownBy(() -> new RewardLoss(0).compute(new Pair(Double.NaN, 0, 0, 0, 1))).hasMessageContaining("chosen reward");
        assertThatThrownBy(() -> new RewardLoss(0).compute(new Pair(0, 0, Double.POSITIVE_INFINITY, 0, 1))).hasMessageContaining("margin");
        assertThatThrownBy(() -> new RewardLoss(1).compute(new Pair(0, 0, 0, -1, 0))).hasMessageContaining("0 tokens");
    }
}
