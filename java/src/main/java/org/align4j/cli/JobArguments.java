package org.align4j.cli;

import java.nio.file.Path;
import java.time.Duration;
import org.align4j.bon.SampleJob;
import org.align4j.rso.RsoJob;
import org.align4j.score.ScoreJob;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * The job a command line of {@code sample}, {@code bon}, {@code rso} or {@code score} asks for, parsed and checked by the
 * CLI's own commands but not run: for callers that run the job elsewhere (the Spark entry point). The input and
 * output are kept as the strings given, since they may be URIs of another file system.
 */
public final class JobArguments {
    /** The commands a caller can take apart. */
    public sealed interface Job permits Sample, Bon, Rso, Score {
        /** {@code -i} and {@code -o} as given. */
        String input();

        String output();

        /** {@code --gpu-layers}. */
        int gpuLayers();
    }

    public record Sample(String input, String output, Path model, int gpuLayers, SampleJob.Options options) implements Job {}

    public record Bon(String input, String output, Path model, int gpuLayers, String reward, Duration rewardTimeout,
                      SampleJob.Options options) implements Job {}

    /** @param reference null: none; the reward's timeout is in the options */
    public record Rso(String input, String output, Path policy, Path reference, int gpuLayers, String reward,
                      RsoJob.Options options) implements Job {}

    /** @param reference null: none */
    public record Score(String input, String output, Path policy, Path reference, int gpuLayers, ScoreJob.Options options) implements Job {}

    private JobArguments() {}

    /**
     * The job of {@code args} (the subcommand first, then its options as for {@code align4j}).
     *
     * @throws CommandLine.ParameterException a usage error, with the message the CLI prints
     */
    public static Job parse(String... args) {
        CommandLine cli = Align4jCommand.commandLine();
        ParseResult parsed = cli.parseArgs(args);
        ParseResult sub = parsed.subcommand();
        if (sub == null) {
            throw new CommandLine.ParameterException(cli, "give a command: sample, bon, rso or score");
        }
        if (sub.isUsageHelpRequested()) {
            throw new CommandLine.ParameterException(sub.commandSpec().commandLine(), sub.commandSpec().commandLine().getUsageMessage());
        }
        String input = sub.matchedOption("-i").stringValues().getFirst();
        String output = sub.matchedOption("-o").stringValues().getFirst();
        return switch (sub.commandSpec().userObject()) {
            case SampleCommand c -> new Sample(input, output, c.job.model, c.engine.gpuLayers,
                    c.job.jobOptions(c.engine, c.lora, c.sampling, c.spec));
            case BonCommand c -> {
                c.reward.spec(c.spec);
                yield new Bon(input, output, c.job.model, c.engine.gpuLayers, c.reward.reward, c.reward.timeout(c.spec),
                        c.job.jobOptions(c.engine, c.lora, c.sampling, c.spec));
            }
            case RsoCommand c -> new Rso(input, output, c.model, c.reference, c.engine.gpuLayers, c.reward.reward, c.jobOptions());
            case ScoreCommand c -> new Score(input, output, c.policy, c.reference, c.engine.gpuLayers, c.jobOptions());
            default -> throw new CommandLine.ParameterException(sub.commandSpec().commandLine(),
                    sub.commandSpec().name() + " does not run on Spark: sample, bon, rso or score do");
        };
    }
}
