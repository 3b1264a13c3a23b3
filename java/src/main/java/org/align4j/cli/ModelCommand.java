package org.align4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code align4j model ...}: making and converting model files. */
@Command(name = "model", description = "Make model files.", subcommands = {ModelSynthCommand.class})
final class ModelCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (synth)");
    }
}
