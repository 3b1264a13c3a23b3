package org.align4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code align4j rm ...}: reward models. */
@Command(name = "rm", description = "Reward models: train one on preference pairs, or attach a Hugging Face head to a GGUF.",
        subcommands = {RmTrainCommand.class, RmAttachCommand.class})
final class RmCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (train, attach)");
    }
}
