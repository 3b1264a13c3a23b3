package org.align4j.cli;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** One CLI invocation with captured output: exit code, stdout, stderr. */
record CliRun(int exit, String out, String err) {
    static CliRun of(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Align4jCommand.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new CliRun(exit, out.toString(), err.toString());
    }

    /**
     * Runs the CLI in a child JVM (this test JVM's options, class path and native folder) and kills it with
     * SIGKILL once {@code watched} has {@code lines} complete lines: a crash in the middle of a run. Asserts
     * the child was still running when killed (its output is in {@code log}).
     */
    static void killAfterLines(List<String> args, Path watched, int lines, Path log) throws IOException, InterruptedException {
        Process child = startAndWaitForLines(args, watched, lines, log);
        child.destroyForcibly().waitFor();
    }

    /**
     * Starts the CLI in a child JVM and returns it, still running, once {@code watched} has {@code lines}
     * complete lines; asserts it was still running then (its output is in {@code log}).
     */
    static Process startAndWaitForLines(List<String> args, Path watched, int lines, Path log) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-Dalign4j.native.dir=" + System.getProperty("align4j.native.dir"));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(args);
        Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (child.isAlive() && lineCount(watched) < lines && System.nanoTime() < deadline) {
            Thread.sleep(5); // polling a file another process writes; no event to wait on
        }
        if (!child.isAlive()) {
            fail("the child ended before " + watched + " had " + lines + " lines (log: " + Files.readString(log) + ")");
        }
        return child;
    }

    static int lineCount(Path file) throws IOException {
        return Files.exists(file) ? (int) Files.readString(file).chars().filter(c -> c == '\n').count() : 0;
    }
}
