package org.align4j.train;

import java.util.Arrays;
import java.util.Locale;

/**
 * The per-pair preference losses of the DPO family, each a pure function of one pair's four
 * completion log-prob sums (policy and reference, chosen and rejected; nats, summed over completion
 * tokens, raw as DESIGN.md defines them) and the two completion lengths in tokens. A batch loss is
 * the mean of the per-pair losses, as TRL reduces them; the trainer scales the derivatives by
 * 1 / pairs and back-propagates them through the policy's token log-probs.
 *
 * <p>h is the DPO logit (pi_c - ref_c) - (pi_r - ref_r); beta is {@link #beta}; eps is
 * {@link #labelSmoothing}; sigma the logistic function; L_c, L_r the completion lengths. Every
 * -log sigma(x) is evaluated as softplus(-x) = log(1 + e^-x) with log1p, so margins of 1e4 and more
 * give finite losses and derivatives.
 *
 * @param beta the temperature of every kind (TRL's {@code beta}; for ORPO it is the weight lambda of
 *     the odds-ratio term, as TRL's ORPOConfig uses {@code beta}). Default 0.1 ({@link #DEFAULT_BETA});
 *     SimPO's is 2.0 ({@link #SIMPO_DEFAULT_BETA}).
 * @param labelSmoothing eps in [0, 0.5] for sigmoid and simpo, [0, 0.5) for robust; 0 for the others.
 * @param simpoGamma SimPO's target reward margin gamma (TRL's {@code simpo_gamma}), read by simpo only.
 */
public record PreferenceLoss(Kind kind, double beta, double labelSmoothing, double simpoGamma) {
    /** TRL's DPOConfig and ORPOConfig default beta. */
    public static final double DEFAULT_BETA = 0.1;
    /** SimPO (Meng et al. 2024, arXiv 2405.14734) trains with beta 2.0 to 2.5; torchtune's SimPOLoss defaults to 2.0. */
    public static final double SIMPO_DEFAULT_BETA = 2.0;
    /**
     * TRL's CPOConfig {@code simpo_gamma} and torchtune's SimPOLoss default. (The SimPO authors' own
     * configs give gamma / beta = 0.5 instead, that is gamma = 1.0 at beta = 2.0.)
     */
    public static final double SIMPO_DEFAULT_GAMMA = 0.5;

    /** The loss kinds, by their {@code --loss} names (TRL's {@code loss_type} names where TRL has one). */
    public enum Kind {
        /**
         * DPO (Rafailov et al. 2023, arXiv 2305.18290, eq. 7) with cDPO label smoothing (Mitchell 2023,
         * eq. 3), TRL's "sigmoid": (1 - eps) * -log sigma(beta h) + eps * -log sigma(-beta h). RSO's
         * sigmoid-norm loss (Liu et al. 2023, arXiv 2309.06657, eq. 8, with gamma = beta) is the eps = 0
         * case, so the name {@code sigmoid_norm} selects this kind.
         */
        SIGMOID("sigmoid", true),
        /**
         * Provably robust DPO (Chowdhury et al. 2024, arXiv 2403.00409), TRL's "robust": the unbiased
         * loss under labels flipped with probability eps, ((1 - eps) * -log sigma(beta h) - eps *
         * -log sigma(-beta h)) / (1 - 2 eps). The flipped-label term is subtracted, not added: that
         * is what removes the noise bias in expectation (and what TRL computes); adding it would be
         * cDPO rescaled. The loss can be negative.
         */
        ROBUST("robust", true),
        /**
         * IPO (Azar et al. 2023, arXiv 2310.12036, eq. 17, tau = beta) as TRL computes it: (h_n -
         * 1/(2 beta))^2 where h_n is h on length-normalised log-probs, (pi_c - ref_c)/L_c - (pi_r -
         * ref_r)/L_r (TRL's DPOTrainer divides all four by the completion length when loss_type is
         * "ipo"; the paper's sums would make the target margin length-dependent).
         */
        IPO("ipo", true),
        /**
         * TRL's "hinge", which is RSO's hinge-norm loss (arXiv 2309.06657, eq. 10, gamma = beta):
         * max(0, 1 - beta h), the SVM counterpart of DPO. At beta h = 1 the derivative taken is 0
         * (torch's relu has the same one-sided choice).
         */
        HINGE("hinge", true),
        /**
         * SimPO (Meng et al. 2024, arXiv 2405.14734), reference-free: -log sigma(beta pi_c/L_c -
         * beta pi_r/L_r - gamma), with the same label smoothing as sigmoid (TRL's CPOTrainer with
         * loss_type "simpo" and cpo_alpha 0, that is without CPO's NLL term).
         */
        SIMPO("simpo", false),
        /**
         * ORPO (Hong et al. 2024, arXiv 2403.07691, eqs. 6-7), reference-free, as TRL's ORPOTrainer:
         * -pi_c/L_c - beta * log sigma(log odds(p_c) - log odds(p_r)) with p = exp(pi/L) the
         * geometric-mean token probability and odds(p) = p / (1 - p). TRL's NLL term is the token mean
         * over the whole batch's chosen tokens; per pair it is -pi_c/L_c.
         */
        ORPO("orpo", false),
        /** The negative log-likelihood of the chosen completion per token, -pi_c/L_c (TRL's DPO loss_type "sft"). */
        SFT("sft", false);

        private final String cliName;
        private final boolean usesReference;

        Kind(String cliName, boolean usesReference) {
            this.cliName = cliName;
            this.usesReference = usesReference;
        }

        public String cliName() {
            return cliName;
        }

        /** Whether the loss reads the reference log-probs; the reference-free kinds ignore them. */
        public boolean usesReference() {
            return usesReference;
        }

        /** The kind a {@code --loss} name selects; {@code sigmoid_norm} is RSO's name for {@link #SIGMOID}. */
        public static Kind named(String name) {
            if (name.equals("sigmoid_norm")) {
                return SIGMOID;
            }
            for (Kind k : values()) {
                if (k.cliName.equals(name)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown loss '" + name + "'; expected one of "
                    + Arrays.stream(values()).map(Kind::cliName).toList() + " or sigmoid_norm");
        }
    }

    /**
     * One preference pair: completion log-prob sums in nats (policy, then reference; the reference-free
     * kinds ignore the reference values) and completion lengths in tokens.
     */
    public record Pair(double policyChosen, double policyRejected, double refChosen, double refRejected,
                       int chosenTokens, int rejectedTokens) {}

    /**
     * A pair's loss, its partial derivatives with respect to the policy's chosen and rejected log-prob
     * sums, and the implicit rewards TRL logs as rewards/chosen and rewards/rejected: beta * (pi - ref)
     * for the reference kinds (on length-normalised log-probs for ipo, as TRL), beta * pi / L for the
     * reference-free ones (TRL's CPO and ORPO trainers).
     */
    public record Result(double loss, double dPolicyChosen, double dPolicyRejected,
                         double chosenReward, double rejectedReward) {}

    public PreferenceLoss {
        if (!(beta > 0) || Double.isInfinite(beta)) {
            throw new IllegalArgumentException("beta must be positive and finite, not " + beta);
        }
        if (!Double.isFinite(simpoGamma)) {
            throw new IllegalArgumentException("simpo gamma must be finite, not " + simpoGamma);
        }
        switch (kind) {
            case SIGMOID, SIMPO -> requireSmoothing(kind, labelSmoothing, labelSmoothing <= 0.5, "[0, 0.5]");
            case ROBUST -> requireSmoothing(kind, labelSmoothing, labelSmoothing < 0.5, "[0, 0.5)");
            default -> requireSmoothing(kind, labelSmoothing, labelSmoothing == 0, "0 (it has no label smoothing)");
        }
    }

    private static void requireSmoothing(Kind kind, double eps, boolean ok, String range) {
        if (!(eps >= 0) || !ok) {
            throw new IllegalArgumentException(
                    "label smoothing for loss " + kind.cliName + " must be in " + range + ", not " + eps);
        }
    }

    /** The kind with its paper/TRL defaults: beta 0.1 (SimPO 2.0, gamma 0.5), no label smoothing. */
    public static PreferenceLoss withDefaults(Kind kind) {
        return kind == Kind.SIMPO
                ? new PreferenceLoss(kind, SIMPO_DEFAULT_BETA, 0, SIMPO_DEFAULT_GAMMA)
                : new PreferenceLoss(kind, DEFAULT_BETA, 0, 0);
    }

    public Result compute(Pair p) {
        requireFinite("policy chosen", p.policyChosen());
        requireFinite("policy rejected", p.policyRejected());
        if (kind.usesReference) {
            requireFinite("reference chosen", p.refChosen());
            requireFinite("reference rejected", p.refRejected());
        }
        return switch (kind) {
            case SIGMOID -> sigmoid(p);
            case ROBUST -> robust(p);
            case IPO -> ipo(p);
            case HINGE -> hinge(p);
            case SIMPO -> simpo(p);
            case ORPO -> orpo(p);
            case SFT -> sft(p);
        };
    }

    private Result sigmoid(Pair p) {
        double z = beta * logit(p);
        double loss = (1 - labelSmoothing) * softplus(-z) + labelSmoothing * softplus(z);
        double dz = -(1 - labelSmoothing) * sigmoidOf(-z) + labelSmoothing * sigmoidOf(z);
        return onLogit(p, loss, beta * dz);
    }

    private Result robust(Pair p) {
        double z = beta * logit(p);
        double scale = 1 / (1 - 2 * labelSmoothing);
        double loss = ((1 - labelSmoothing) * softplus(-z) - labelSmoothing * softplus(z)) * scale;
        double dz = (-(1 - labelSmoothing) * sigmoidOf(-z) - labelSmoothing * sigmoidOf(z)) * scale;
        return onLogit(p, loss, beta * dz);
    }

    private Result hinge(Pair p) {
        double z = beta * logit(p);
        return onLogit(p, Math.max(0, 1 - z), z < 1 ? -beta : 0);
    }

    /** d loss / d h = dh; h moves with pi_c and against pi_r one for one. */
    private Result onLogit(Pair p, double loss, double dh) {
        return new Result(loss, dh, -dh,
                beta * (p.policyChosen() - p.refChosen()), beta * (p.policyRejected() - p.refRejected()));
    }

    private Result ipo(Pair p) {
        double lc = tokens("chosen", p.chosenTokens());
        double lr = tokens("rejected", p.rejectedTokens());
        double chosenRatio = (p.policyChosen() - p.refChosen()) / lc;
        double rejectedRatio = (p.policyRejected() - p.refRejected()) / lr;
        double gap = chosenRatio - rejectedRatio - 1 / (2 * beta);
        return new Result(gap * gap, 2 * gap / lc, -2 * gap / lr, beta * chosenRatio, beta * rejectedRatio);
    }

    private Result simpo(Pair p) {
        double chosenMean = p.policyChosen() / tokens("chosen", p.chosenTokens());
        double rejectedMean = p.policyRejected() / tokens("rejected", p.rejectedTokens());
        double z = beta * (chosenMean - rejectedMean) - simpoGamma;
        double loss = (1 - labelSmoothing) * softplus(-z) + labelSmoothing * softplus(z);
        double dz = -(1 - labelSmoothing) * sigmoidOf(-z) + labelSmoothing * sigmoidOf(z);
        return new Result(loss, dz * beta / p.chosenTokens(), -dz * beta / p.rejectedTokens(),
                beta * chosenMean, beta * rejectedMean);
    }

    private Result orpo(Pair p) {
        double chosenMean = p.policyChosen() / tokens("chosen", p.chosenTokens());
        double rejectedMean = p.policyRejected() / tokens("rejected", p.rejectedTokens());
        requireBelowZero("chosen", chosenMean);
        requireBelowZero("rejected", rejectedMean);
        double z = logOdds(chosenMean) - logOdds(rejectedMean);
        double loss = -chosenMean + beta * softplus(-z);
        double dz = -beta * sigmoidOf(-z);
        // d logOdds(a) / da = 1 / (1 - e^a) = -1 / expm1(a)
        double dChosenMean = -1 - dz / Math.expm1(chosenMean);
        double dRejectedMean = dz / Math.expm1(rejectedMean);
        return new Result(loss, dChosenMean / p.chosenTokens(), dRejectedMean / p.rejectedTokens(),
                beta * chosenMean, beta * rejectedMean);
    }

    private Result sft(Pair p) {
        double lc = tokens("chosen", p.chosenTokens());
        double lr = tokens("rejected", p.rejectedTokens());
        return new Result(-p.policyChosen() / lc, -1 / lc, 0,
                beta * p.policyChosen() / lc, beta * p.policyRejected() / lr);
    }

    private static double logit(Pair p) {
        return (p.policyChosen() - p.refChosen()) - (p.policyRejected() - p.refRejected());
    }

    /** log(p / (1 - p)) for p = e^a, a < 0; log(1 - e^a) via log1p or expm1, whichever keeps precision. */
    private static double logOdds(double a) {
        double log1mExp = a < -Math.log(2) ? Math.log1p(-Math.exp(a)) : Math.log(-Math.expm1(a));
        return a - log1mExp;
    }

    /** log(1 + e^x), without overflow for large x. */
    public static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    /** 1 / (1 + e^-x), without overflow for large |x|. */
    static double sigmoidOf(double x) {
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    private static void requireFinite(String what, double logp) {
        if (!Double.isFinite(logp)) {
            throw new IllegalArgumentException(what + " log-prob must be finite, not " + logp);
        }
    }

    private static void requireBelowZero(String what, double meanLogp) {
        if (!(meanLogp < 0)) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "orpo needs the %s completion's mean token log-prob below 0 (odds of p = 1 are infinite), not %s",
                    what, meanLogp));
        }
    }

    private double tokens(String what, int n) {
        if (n < 1) {
            throw new IllegalArgumentException(
                    "loss " + kind.cliName + " normalises by length: the " + what + " completion has " + n + " tokens");
        }
        return n;
    }
}
