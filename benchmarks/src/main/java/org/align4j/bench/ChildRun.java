package org.align4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One benchmarked command, run as a child process the way a user runs it: its exact command line, its
 * wall time from start to exit, and its stdout and stderr (also kept in {@code log} for inspection).
 */
record ChildRun(List<String> command, double wallSeconds, String out, String err) {

    static ChildRun run(List<String> command, Path log) {
        try {
            Path outFile = Files.createTempFile("bench", ".out");
            Path errFile = Files.createTempFile("bench", ".err");
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(command).redirectOutput(outFile.toFile()).redirectError(errFile.toFile()).start();
            int exit = p.waitFor();
            double wall = (System.nanoTime() - t0) / 1e9;
            String out = Files.readString(outFile, StandardCharsets.UTF_8);
            String err = Files.readString(errFile, StandardCharsets.UTF_8);
            Files.delete(outFile);
            Files.delete(errFile);
            Files.writeString(log, "$ " + String.join(" ", command) + "\n" + out + err, StandardCharsets.UTF_8);
            if (exit != 0) {
                throw new IllegalStateException("exit " + exit + " from " + String.join(" ", command) + " (log: " + log + ")\n" + tail(err));
            }
            return new ChildRun(command, wall, out, err);
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** {@code model} made by {@code align4j model synth} (seed 1) unless it exists already. */
    static Path synthesize(String align4j, String preset, String type, Path model) {
        if (!Files.exists(model)) {
            run(List.of(align4j, "model", "synth", "--preset", preset, "--type", type, "--seed", "1", "-o", model.toString()),
                    model.resolveSibling(model.getFileName() + ".synth.log"));
        }
        return model;
    }

    String commandLine() {
        return String.join(" ", command);
    }

    private static String tail(String s) {
        return s.length() <= 2000 ? s : s.substring(s.length() - 2000);
    }
}
