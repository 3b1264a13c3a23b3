package org.align4j.train;

/**
 * The reward model's loss on one preference pair, a pure function of the head's two rewards, the pair's
 * margin and the chosen completion's log-prob sum: the Bradley-Terry ranking loss of InstructGPT
 * (Ouyang et al. 2022, arXiv 2203.02155, eq. 1), with Llama 2's margin (Touvron et al. 2023, arXiv
 * 2307.09288, eq. 2), plus an imitation term on the chosen response:
 *
 * <p>L = -log sigma(r_c - r_r - m) + lmCoef * (-logp_c / L_c)
 *
 * <p>with r_c, r_r the rewards of prompt + chosen and prompt + rejected, m the margin (0 without one;
 * TRL's RewardTrainer subtracts the record's {@code margin} the same way), logp_c the chosen
 * completion's log-prob sum and L_c its length in tokens, so the second term is the NLL per token
 * (TRL's {@code rpo_alpha} term in DPO is the same). A batch loss is the mean over its pairs, as TRL's.
 * -log sigma(x) is evaluated as softplus(-x), finite for any finite x.
 *
 * @param lmCoef weight of the imitation term, >= 0 (0: the ranking loss alone)
 */
public record RewardLoss(double lmCoef) {
    /**
     * One pair: the rewards in the head's units, the margin m, the chosen completion's log-prob sum (nats)
     * and its length in tokens (read only when lmCoef > 0).
     */
    public record Pair(double chosenReward, double rejectedReward, double margin, double chosenLogp, int chosenTokens) {}

    /** A pair's loss and its partial derivatives by r_c, r_r and logp_c. */
    public record Result(double loss, double dChosenReward, double dRejectedReward, double dChosenLogp) {}

    public RewardLoss {
        if (!(lmCoef >= 0) || Double.isInfinite(lmCoef)) {
            throw new IllegalArgumentException("the imitation coefficient must be finite and >= 0, not " + lmCoef);
        }
    }

    public Result compute(Pair p) {
        requireFinite("chosen reward", p.chosenReward());
        requireFinite("rejected reward", p.rejectedReward());
        requireFinite("margin", p.margin());
        double z = p.chosenReward() - p.rejectedReward() - p.margin();
        double loss = PreferenceLoss.softplus(-z);
        double dz = -PreferenceLoss.sigmoidOf(-z);
        if (lmCoef == 0) {
            return new Result(loss, dz, -dz, 0);
        }
        requireFinite("chosen log-prob", p.chosenLogp());
        if (p.chosenTokens() < 1) {
            throw new IllegalArgumentException("the imitation term is per token: the chosen completion has " + p.chosenTokens() + " tokens");
        }
        return new Result(loss - lmCoef * p.chosenLogp() / p.chosenTokens(), dz, -dz, -lmCoef / p.chosenTokens());
    }

    private static void requireFinite(String what, double x) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("the " + what + " must be finite, not " + x);
        }
    }
}
