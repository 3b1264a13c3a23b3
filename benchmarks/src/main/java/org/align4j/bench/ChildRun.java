package org.align4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One benchmarked command, run as a child process the way a user runs it: its exact command line and
 * its stdout and stderr (also kept in {@code log} for inspection), where the figures are read from.
 */
record ChildRun(List<String> command, String out, String err) {

    /** Runs {@code command} with {@code environment} added to this process's; its output goes to {@code log} too. */
    static ChildRun run(List<String> command, Map<String, String> environment, Path log) {
        try {
            Path outFile = Files.createTempFile("bench", ".out");
            Path errFile = Files.createTempFile("bench", ".err");
            ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(outFile.toFile()).redirectError(errFile.toFile());
            builder.environment().putAll(environment);
            Process p = builder.start();
            int exit = p.waitFor();
            String out = Files.readString(outFile, StandardCharsets.UTF_8);
            String err = Files.readString(errFile, StandardCharsets.UTF_8);
            Files.delete(outFile);
            Files.delete(errFile);
            Files.writeString(log, "$ " + environmentLine(environment) + String.join(" ", command) + "\n" + out + err, StandardCharsets.UTF_8);
            if (exit != 0) {
                throw new IllegalStateException("exit " + exit + " from " + String.join(" ", command) + " (log: " + log + ")\n" + tail(err));
            }
            return new ChildRun(command, out, err);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** The first match of {@code line} in the output (a job's summary or timing line); the run fails without one. */
    Matcher find(Pattern line) {
        Matcher m = line.matcher(out + err);
        if (!m.find()) {
            throw new IllegalStateException("no line like /" + line + "/ in the output of " + commandLine() + ":\n" + tail(out + err));
        }
        return m;
    }

    /** The number after {@code "key": } in the output: a figure of llama-batched-bench's jsonl result. */
    double figure(String key) {
        return Double.parseDouble(find(Pattern.compile("\"" + Pattern.quote(key) + "\": ([0-9.]+)")).group(1));
    }

    private static String environmentLine(Map<String, String> environment) {
        StringBuilder b = new StringBuilder();
        environment.forEach((k, v) -> b.append(k).append('=').append(v).append(' '));
        return b.toString();
    }

    String commandLine() {
        return String.join(" ", command);
    }

    private static String tail(String s) {
        return s.length() <= 2000 ? s : s.substring(s.length() - 2000);
    }
}
