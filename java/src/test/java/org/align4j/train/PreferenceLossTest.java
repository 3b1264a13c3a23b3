package org.align4j.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.DoubleStream;
import org.align4j.train.PreferenceLoss.Kind;
import org.align4j.train.PreferenceLoss.Pair;
import org.align4j.train.PreferenceLoss.Result;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each loss against its paper's formula worked out on one pair, every derivative against a central
 * finite difference, and the extremes of the logit. The worked pair: policy chosen -10, rejected -14,
 * reference chosen -12, rejected -13, lengths 5 and 4 tokens; so h = (-10 + 12) - (-14 + 13) = 3.
 */
class PreferenceLossTest {
    static final Pair WORKED = new Pair(-10, -14, -12, -13, 5, 4);
    static final double FORMULA_TOLERANCE = 1e-12; // relative; both sides are a few double operations
    static final double FD_TOLERANCE = 1e-6; // relative; central differences with step 1e-5 err by ~1e-10

    static double loss(Kind kind, double beta, double eps, double gamma) {
        return new PreferenceLoss(kind, beta, eps, gamma).compute(WORKED).loss();
    }

    static void assertClose(String label, double actual, double expected) {
        double rel = Math.abs(actual - expected) / Math.max(Math.abs(expected), Double.MIN_NORMAL);
        System.out.printf("%-28s code %.15g  formula %.15g  rel diff %.2e%n", label, actual, expected, rel);
        assertThat(rel).as(label).isLessThanOrEqualTo(FORMULA_TOLERANCE);
    }

    @Test
    void sigmoidIsDpo() {
        // Rafailov et al. eq. 7: -log sigma(beta * ((pi_c - ref_c) - (pi_r - ref_r)))
        assertClose("sigmoid beta 0.1", loss(Kind.SIGMOID, 0.1, 0, 0),
                -Math.log(1 / (1 + Math.exp(-0.1 * ((-10 + 12) - (-14 + 13))))));
    }

    @Test
    void labelSmoothingIsCdpo() {
        // (1 - eps) * -log sigma(beta h) + eps * -log sigma(-beta h), eps 0.2, beta h = 0.3
        assertClose("cDPO eps 0.2", loss(Kind.SIGMOID, 0.1, 0.2, 0),
                0.8 * -Math.log(1 / (1 + Math.exp(-0.1 * 3))) + 0.2 * -Math.log(1 / (1 + Math.exp(0.1 * 3))));
    }

    @Test
    void sigmoidNormIsRsoEquationEight() {
        // RSO eq. 8 with gamma = beta: -log sigma(gamma log(pi_c/sft_c) - gamma log(pi_r/sft_r))
        double gamma = 0.1;
        double rso = -Math.log(1 / (1 + Math.exp(-(gamma * (-10 - -12) - gamma * (-14 - -13)))));
        assertThat(Kind.named("sigmoid_norm")).isEqualTo(Kind.SIGMOID);
        assertClose("sigmoid_norm gamma 0.1", loss(Kind.named("sigmoid_norm"), gamma, 0, 0), rso);
    }

    @Test
    void robustSubtractsTheFlippedLabelTerm() {
        // Chowdhury et al.: ((1 - eps) l(y_w, y_l) - eps l(y_l, y_w)) / (1 - 2 eps), l = -log sigma
        assertClose("robust eps 0.2", loss(Kind.ROBUST, 0.1, 0.2, 0),
                (0.8 * -Math.log(1 / (1 + Math.exp(-0.3))) - 0.2 * -Math.log(1 / (1 + Math.exp(0.3)))) / (1 - 0.4));
        assertClose("robust eps 0 = sigmoid", loss(Kind.ROBUST, 0.1, 0, 0), loss(Kind.SIGMOID, 0.1, 0, 0));
    }

    @Test
    void ipoOnLengthNormalisedLogProbs() {
        // Azar et al. eq. 17, tau = beta = 0.1, on log-probs divided by the lengths 5 and 4 (TRL)
        double hNorm = (-10 + 12) / 5.0 - (-14 + 13) / 4.0;
        assertClose("ipo beta 0.1", loss(Kind.IPO, 0.1, 0, 0), Math.pow(hNorm - 1 / (2 * 0.1), 2));
    }

    @Test
    void hingeIsRsoHingeNorm() {
        // RSO eq. 10, gamma = beta: max(0, 1 - beta h)
        assertClose("hinge beta 0.1", loss(Kind.HINGE, 0.1, 0, 0), Math.max(0, 1 - 0.1 * 3));
        assertThat(loss(Kind.HINGE, 0.5, 0, 0)).isEqualTo(Math.max(0, 1 - 0.5 * 3));
    }

    @Test
    void simpoIsReferenceFreeWithMargin() {
        // Meng et al.: -log sigma(beta/|y_c| pi_c - beta/|y_r| pi_r - gamma), beta 2, gamma 0.5
        assertClose("simpo beta 2 gamma 0.5", loss(Kind.SIMPO, 2, 0, 0.5),
                -Math.log(1 / (1 + Math.exp(-(2.0 / 5 * -10 - 2.0 / 4 * -14 - 0.5)))));
    }

    @Test
    void orpoIsNllPlusOddsRatio() {
        // Hong et al.: -mean logp_c - lambda log sigma(log odds_c - log odds_r), odds = p / (1 - p), p = exp(mean)
        double pc = Math.exp(-10 / 5.0);
        double pr = Math.exp(-14 / 4.0);
        double logOddsRatio = Math.log(pc / (1 - pc)) - Math.log(pr / (1 - pr));
        assertClose("orpo lambda 0.1", loss(Kind.ORPO, 0.1, 0, 0),
                10 / 5.0 - 0.1 * Math.log(1 / (1 + Math.exp(-logOddsRatio))));
    }

    @Test
    void sftIsChosenNllPerToken() {
        assertClose("sft", loss(Kind.SFT, 0.1, 0, 0), 10 / 5.0);
    }

    @Test
    void implicitRewards() {
        Result dpo = PreferenceLoss.withDefaults(Kind.SIGMOID).compute(WORKED);
        assertClose("dpo chosen reward", dpo.chosenReward(), 0.1 * (-10 + 12));
        assertClose("dpo rejected reward", dpo.rejectedReward(), 0.1 * (-14 + 13));
        Result simpo = PreferenceLoss.withDefaults(Kind.SIMPO).compute(WORKED);
        assertClose("simpo chosen reward", simpo.chosenReward(), 2.0 * -10 / 5);
        assertClose("simpo rejected reward", simpo.rejectedReward(), 2.0 * -14 / 4);
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void derivativesMatchCentralDifferences(Kind kind) {
        PreferenceLoss loss = new PreferenceLoss(kind, kind == Kind.SIMPO ? 2.0 : 0.3,
                kind == Kind.SIGMOID || kind == Kind.ROBUST || kind == Kind.SIMPO ? 0.15 : 0, 0.5);
        SplittableRandom rng = new SplittableRandom(20240917L + kind.ordinal());
        double step = 1e-5;
        double maxRel = 0;
        int checked = 0;
        while (checked < 200) {
            double pc = rng.nextDouble(-60, -5);
            double pr = rng.nextDouble(-60, -5);
            Pair p = new Pair(pc, pr, pc + rng.nextDouble(-8, 8), pr + rng.nextDouble(-8, 8),
                    rng.nextInt(1, 40), rng.nextInt(1, 40));
            double beta = loss.beta();
            double h = (p.policyChosen() - p.refChosen()) - (p.policyRejected() - p.refRejected());
            if (kind == Kind.HINGE && Math.abs(1 - beta * h) < 100 * step) {
                continue; // the kink, where the loss has no derivative
            }
            Result r = loss.compute(p);
            double dc = centralDifference(x -> loss.compute(
                    new Pair(x, p.policyRejected(), p.refChosen(), p.refRejected(), p.chosenTokens(), p.rejectedTokens()))
                    .loss(), p.policyChosen(), step);
            double dr = centralDifference(x -> loss.compute(
                    new Pair(p.policyChosen(), x, p.refChosen(), p.refRejected(), p.chosenTokens(), p.rejectedTokens()))
                    .loss(), p.policyRejected(), step);
            maxRel = Math.max(maxRel, relative(r.dPolicyChosen(), dc));
            maxRel = Math.max(maxRel, relative(r.dPolicyRejected(), dr));
            checked++;
        }
        System.out.printf("%-8s derivatives vs central differences on %d pairs: max rel err %.2e%n",
                kind.cliName(), checked, maxRel);
        assertThat(maxRel).isLessThanOrEqualTo(FD_TOLERANCE);
    }

    static double centralDifference(DoubleUnaryOperator f, double x, double h) {
        return (f.applyAsDouble(x + h) - f.applyAsDouble(x - h)) / (2 * h);
    }

    /**
     * Relative difference, scaled as if the derivatives were 1e-3 when they are smaller: there the
     * quotient's rounding (1e-16 * loss / step, about 1e-10) would swamp a relative measure.
     */
    static double relative(double a, double b) {
        return Math.abs(a - b) / Math.max(1e-3, Math.max(Math.abs(a), Math.abs(b)));
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void hugeMarginsStayFinite(Kind kind) {
        PreferenceLoss loss = PreferenceLoss.withDefaults(kind);
        for (double sign : new double[] {1, -1}) {
            // |h| = 1e4 for the reference kinds, |pi_c - pi_r| ~ 1e4 for the reference-free ones
            Pair p = sign > 0 ? new Pair(-1, -10_001, -5_001, -5_001, 1, 1) : new Pair(-10_001, -1, -5_001, -5_001, 1, 1);
            Result r = loss.compute(p);
            assertThat(DoubleStream.of(r.loss(), r.dPolicyChosen(), r.dPolicyRejected()).allMatch(Double::isFinite))
                    .as("%s at margin %s1e4: %s", kind, sign > 0 ? "+" : "-", r)
                    .isTrue();
        }
    }

    @Test
    void sigmoidFollowsItsAsymptoteFarFromZero() {
        // computed naively as -log(1 / (1 + e^1e3)), -log sigma(-1e3) is infinite; it is 1e3
        Result dpo = PreferenceLoss.withDefaults(Kind.SIGMOID).compute(new Pair(-10_001, -1, -5_001, -5_001, 1, 1));
        assertClose("sigmoid at beta h = -1e3", dpo.loss(), 1000);
        assertClose("its d/d pi_c", dpo.dPolicyChosen(), -0.1);
    }

    @Test
    void referenceFreeKindsIgnoreTheReference() {
        Pair withNaNs = new Pair(WORKED.policyChosen(), WORKED.policyRejected(), Double.NaN, Double.NaN, 5, 4);
        for (Kind kind : new Kind[] {Kind.SIMPO, Kind.ORPO, Kind.SFT}) {
            assertThat(kind.usesReference()).isFalse();
            PreferenceLoss loss = PreferenceLoss.withDefaults(kind);
            assertThat(loss.compute(withNaNs)).isEqualTo(loss.compute(WORKED));
        }
        assertThatThrownBy(() -> PreferenceLoss.withDefaults(Kind.SIGMOID).compute(withNaNs))
                .hasMessageContaining("reference chosen log-prob must be finite");
    }

    @Test
    void badSettingsAndInputsAreRefused() {
        assertThatThrownBy(() -> new PreferenceLoss(Kind.SIGMOID, 0, 0, 0)).hasMessageContaining("beta");
        assertThatThrownBy(() -> new PreferenceLoss(Kind.ROBUST, 0.1, 0.5, 0)).hasMessageContaining("[0, 0.5)");
        assertThatThrownBy(() -> new PreferenceLoss(Kind.IPO, 0.1, 0.1, 0)).hasMessageContaining("no label smoothing");
        assertThatThrownBy(() -> Kind.named("dpo")).hasMessageContaining("unknown loss 'dpo'");
        assertThatThrownBy(() -> PreferenceLoss.withDefaults(Kind.IPO).compute(new Pair(-1, -2, -1, -2, 0, 3)))
                .hasMessageContaining("chosen completion has 0 tokens");
        assertThatThrownBy(() -> PreferenceLoss.withDefaults(Kind.ORPO).compute(new Pair(0, -2, 0, 0, 2, 3)))
                .hasMessageContaining("below 0");
    }
}
