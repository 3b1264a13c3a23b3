package org.align4j.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** One CLI invocation with captured output: exit code, stdout, stderr. */
record CliRun(int exit, String out, String err) {
    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Align4jCommand.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }
}
