package org.align4j.cli;

import java.time.Duration;
import org.align4j.reward.RewardContext;
import org.align4j.reward.RewardSpec;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** {@code --reward SPEC} and {@code --reward-timeout}: the options of every job that rewards completions. */
final class RewardOptions {
    @Option(names = "--reward", required = true, paramLabel = "SPEC", description = "how to reward a completion: " + RewardSpec.KINDS)
    String reward;

    @Option(names = "--reward-timeout", paramLabel = "SECONDS", description = "cmd: the longest wait for one answer (default: 60)")
    double timeoutSeconds = RewardContext.DEFAULT_TIMEOUT.toSeconds();

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
