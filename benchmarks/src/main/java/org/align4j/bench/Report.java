package org.align4j.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * A harness's markdown report: its title and the machine it ran on, the harness's own text, and the
 * commands that reproduce it, as lines to paste in the checkout's top folder. Written to --report and printed.
 */
final class Report {
    /** A row of a report's goals table: {@code measured} against {@code goal}. */
    record Target(String what, double measured, String goal, boolean met) {}

    private final BenchOptions options;
    private final StringBuilder text = new StringBuilder();

    Report(BenchOptions options, String title) {
        this.options = options;
        text.append("# ").append(title).append("\n\n");
        format("Run on %s: %s.%n%n", LocalDate.now(), Machine.describe(options.root));
    }

    Report append(String s) {
        text.append(s);
        return this;
    }

    Report format(String format, Object... args) {
        text.append(String.format(Locale.ROOT, format, args));
        return this;
    }

    /** The goals table, each measured value written with {@code measuredFormat}. */
    Report targets(String measuredFormat, List<Target> targets) {
        text.append("| target | measured | goal | |\n|---|---|---|---|\n");
        for (Target t : targets) {
            format("| %s | " + measuredFormat + " | %s | %s |%n", t.what, t.measured, t.goal, t.met ? "met" : "**missed**");
        }
        return this;
    }

    /**
     * Opens the reproduce section with the make line that reruns this harness with this run's options;
     * {@code builds} names what it builds first, {@code moreLines} go in the same block.
     */
    Report reproduce(String builds, String... moreLines) {
        text.append("\n## Reproduce\n\n```\n").append(makeCommand()).append("     # builds ").append(builds).append(", then runs it\n");
        for (String line : moreLines) {
            text.append(line).append('\n');
        }
        text.append("```\n");
        return this;
    }

    /** A paragraph {@code intro} and a block of {@code commands}. */
    Report commands(String intro, List<List<String>> commands) {
        text.append('\n').append(intro).append(":\n\n```\n");
        for (List<String> command : commands) {
            text.append(commandLine(command)).append('\n');
        }
        text.append("```\n");
        return this;
    }

    void write() throws IOException {
        Files.createDirectories(options.report.toAbsolutePath().getParent());
        Files.writeString(options.report, text, StandardCharsets.UTF_8);
        System.out.print(text);
    }

    static <T> double mean(List<T> runs, ToDoubleFunction<T> figure) {
        return runs.stream().mapToDouble(figure).average().orElse(Double.NaN);
    }

    /** The make line that reruns this harness with the options this run was given (the Makefile's own --root left out). */
    private String makeCommand() {
        List<String> args = new ArrayList<>(options.spec.commandLine().getParseResult().originalArgs());
        args.removeIf(a -> a.startsWith("--root="));
        int root = args.indexOf("--root");
        if (root >= 0) {
            args.subList(root, Math.min(root + 2, args.size())).clear();
        }
        return "make bench-" + options.name + (args.isEmpty() ? "" : " BENCH_ARGS=\"" + String.join(" ", args) + "\"");
    }

    /**
     * {@code command} as a shell line to paste in the checkout's top folder, naming no machine's folders: the checkout's
     * absolute path left out of an argument that starts with it ({@code ./align4j}, {@code build/native/bin/...}), and
     * written {@code $PWD/} inside one that does not (a class path or setting that a child reads from another working
     * folder, as Spark's executors do); arguments quoted where the shell would split or expand them, except a shell
     * variable ({@code $NAME}) that a harness shows in place of several arguments or inside one.
     */
    private String commandLine(List<String> command) {
        String top = options.root.toAbsolutePath().normalize() + "/";
        List<String> out = new ArrayList<>(command.size());
        for (String a : command) {
            if (a.startsWith(top)) {
                String rel = a.replace(top, "");
                out.add(rel.equals("align4j") ? "./align4j" : quoted(rel));
            } else if (a.contains(top)) {
                out.add("\"" + a.replace(top, "$PWD/") + "\"");
            } else {
                out.add(quoted(a));
            }
        }
        return String.join(" ", out);
    }

    private static String quoted(String a) {
        if (a.matches("[A-Za-z0-9_./:=,@%+-]+") || a.matches("\\$[A-Z_]+")) {
            return a;
        }
        return a.matches(".*\\$[A-Z_]+.*") ? "\"" + a + "\"" : "'" + a.replace("'", "'\\''") + "'";
    }
}
