package org.align4j.cli;

import java.nio.file.Path;
import java.time.Duration;
import org.align4j.reward.KlPenalty;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardSpec;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** {@code --reward SPEC}, {@code --reward-timeout} and {@code --kl-coef}: the options of every job that rewards completions. */
final class RewardOptions {
    @Option(names = "--reward", required = true, paramLabel = "SPEC", description = "how to reward a completion: " + RewardSpec.KINDS)
    String reward;

    @Option(names = "--reward-timeout", paramLabel = "SECONDS", description = "cmd: the longest wait for one answer (default: 60)")
    double timeoutSeconds = RewardContext.DEFAULT_TIMEOUT.toSeconds();

    @Option(names = "--kl-coef", paramLabel = "C", description = "penalise the reward by the KL to the reference: write reward = r - C * "
            + "(log pi(y|x) - log pi_ref(y|x)) of each completion (raw log-probs, temperature 1), with reward_raw and kl beside it")
    Double klCoef;

    /** The KL penalty to {@code reference}, or null without {@code --kl-coef}; a C below 0 or not finite is a usage error. */
    KlPenalty klPenalty(CommandSpec command, Path reference) {
        if (klCoef == null) {
            return null;
        }
        try {
            return new KlPenalty(klCoef, reference);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(command.commandLine(), e.getMessage());
        }
    }

    /** The parsed spec; a bad one is a usage error that lists the kinds. */
    RewardSpec spec(CommandSpec command) {
        try {
            return RewardSpec.parse(reward);
        } catch (IllegalArgumentException e) {
            String why = e.getMessage();
            throw new CommandLine.ParameterException(command.commandLine(),
                    why.contains(RewardSpec.KINDS) ? why : why + " (SPEC is one of " + RewardSpec.KINDS + ")");
        }
    }

    /** The timeout; not positive, or over a day, is a usage error. */
    Duration timeout(CommandSpec command) {
        if (!(timeoutSeconds > 0) || timeoutSeconds > Duration.ofDays(1).toSeconds()) {
            throw new CommandLine.ParameterException(command.commandLine(),
                    "--reward-timeout must be positive seconds (a day at most), not " + timeoutSeconds);
        }
        return Duration.ofNanos(Math.round(timeoutSeconds * 1e9));
    }
}
