package org.align4j.reward;

/** The one call a job makes: a {@code --reward SPEC} to an open {@link Reward}. */
public final class Rewards {
    private Rewards() {}

    /**
     * {@code RewardSpec.parse(spec).open(ctx)}: a malformed SPEC is an IllegalArgumentException (usage
     * error, exit 2) whose message lists {@link RewardSpec#KINDS}; a model, file or command that cannot be
     * loaded, read or started is an Align4jException (exit 1).
     */
    public static Reward parse(String spec, RewardContext ctx) {
        return RewardSpec.parse(spec).open(ctx);
    }
}
