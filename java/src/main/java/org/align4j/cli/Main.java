package org.align4j.cli;

import picocli.CommandLine;

/** Entry point of the {@code align4j} launcher. Nothing else in align4j exits the JVM. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(Align4jCommand.commandLine().execute(args));
    }
}
