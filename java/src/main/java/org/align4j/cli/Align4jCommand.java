package org.align4j.cli;

import java.io.PrintWriter;
import org.align4j.Align4jException;
import org.align4j.llama.Backend;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;

/**
 * The root command. Exit codes (DESIGN.md): 0 ok, 1 runtime failure, 2 usage error.
 * An {@link Align4jException} is a user-facing failure: its message is printed as is, no stack trace.
 */
@Command(
        name = "align4j",
        mixinStandardHelpOptions = true,
        scope = CommandLine.ScopeType.INHERIT, // --help and --version on every subcommand too
        versionProvider = VersionProvider.class,
        description = "Native-accelerated sampling, log-prob scoring and preference alignment for GGUF models.",
        subcommands = {HelpCommand.class, InfoCommand.class, TokenizeCommand.class, ModelCommand.class, ScoreCommand.class,
                SampleCommand.class, BonCommand.class, RsoCommand.class, DpoCommand.class, SftCommand.class, RmCommand.class,
                LoopCommand.class})
public final class Align4jCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /** The configured command line; tests call this with their own out/err writers. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Align4jCommand());
        cl.setExecutionExceptionHandler(Align4jCommand::handleFailure);
        cl.setExecutionStrategy(Align4jCommand::execute);
        return cl;
    }

    /** Runs the chosen command as picocli's RunLast does; one that runs llama.cpp first says the backend. */
    private static int execute(CommandLine.ParseResult parsed) {
        Integer help = CommandLine.executeHelpRequest(parsed);
        if (help != null) {
            return help;
        }
        CommandLine chosen = parsed.asCommandLineList().getLast();
        if (chosen.getCommand() instanceof RunsLlama) {
            try {
                chosen.getErr().println("align4j: backend " + Backend.info().describe());
            } catch (Align4jException e) {
                throw new CommandLine.ExecutionException(chosen, e.getMessage(), e);
            }
        }
        return new CommandLine.RunLast().execute(parsed);
    }

    static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        return commandLine().setOut(out).setErr(err);
    }

    private static int handleFailure(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (e instanceof Align4jException) {
            err.println("align4j " + cl.getCommandName() + ": error: " + e.getMessage());
        } else {
            err.println("align4j " + cl.getCommandName() + ": internal error: " + e);
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }
}
