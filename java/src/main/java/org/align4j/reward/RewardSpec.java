package org.align4j.reward;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A parsed {@code --reward SPEC}: {@code KIND:ARGUMENT}, split at the first colon.
 *
 * <pre>
 * cmd:COMMAND                   COMMAND run once by {@code sh -c}, fed JSON lines ({@link CommandReward})
 * match:FIELD                   1 if the completion's final answer equals the record's FIELD, else 0 ({@link FinalAnswer})
 * regex:PATTERN                 1 if java.util.regex PATTERN is found in the completion, else 0
 * implicit:REF.gguf[:BETA]      BETA * (policy log-prob - REF log-prob) of the completion; BETA defaults to 0.1
 * judge:JUDGE.gguf[:RUBRIC]     the rating 1..5 that JUDGE.gguf expects, asked with a rubric ({@link JudgeReward})
 * rm:RM.gguf                    a reward model's scalar head on its last hidden state ({@link RewardModelReward})
 * </pre>
 *
 * Everything after {@code KIND:} is the argument, colons included ({@code cmd:} and {@code regex:} take
 * it whole). {@code implicit:} splits off BETA at the last colon when what follows it is a number or what
 * precedes it ends in {@code .gguf}; {@code judge:} splits off RUBRIC after the first {@code .gguf:}. So a
 * model path may hold colons, but a judge followed by a rubric must be named {@code *.gguf}.
 *
 * <p>{@link #parse(String)} checks only the SPEC's syntax and has no side effects, so a command can
 * reject a bad SPEC as a usage error before loading anything; {@link #open(RewardContext)} loads models,
 * reads files and starts processes.
 */
public sealed interface RewardSpec {
    /** The kinds, as usage messages list them. */
    String KINDS = "cmd:COMMAND, match:FIELD, regex:PATTERN, implicit:REF.gguf[:BETA], judge:JUDGE.gguf[:RUBRIC_FILE], rm:RM.gguf";

    /** TRL's DPOConfig default beta. */
    double DEFAULT_BETA = 0.1;

    /** Loads, reads or starts what this reward needs; failures are Align4jException naming the file or command. */
    Reward open(RewardContext ctx);

    record Cmd(String command) implements RewardSpec {
        @Override
        public Reward open(RewardContext ctx) {
            return new CommandReward(command, ctx.timeout());
        }
    }

    record Match(String field) implements RewardSpec {
        @Override
        public Reward open(RewardContext ctx) {
            return new MatchReward(field);
        }
    }

    record Regex(Pattern pattern) implements RewardSpec {
        @Override
        public Reward open(RewardContext ctx) {
            return new RegexReward(pattern);
        }
    }

    /** @param beta positive and finite */
    record Implicit(Path reference, double beta) implements RewardSpec {
        @Override
        public Reward open(RewardContext ctx) {
            return new ImplicitReward(reference, beta, ctx);
        }
    }

    /** @param rubric a rubric file, or null for {@link JudgeRubric#DEFAULT} */
    record Judge(Path judge, Path rubric) implements RewardSpec {
        @Override
        public Reward open(RewardContext ctx) {
            return new JudgeReward(judge, rubric == null ? JudgeRubric.DEFAULT : JudgeRubric.read(rubric), ctx);
        }
    }

    record RewardModel(Path model) implements RewardSpec {
        @Override
        public Reward open(RewardContext ctx) {
            return new RewardModelReward(model, ctx);
        }
    }

    /** Parses a SPEC; an unknown kind or a malformed argument is an IllegalArgumentException (a usage error). */
    static RewardSpec parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        int colon = spec.indexOf(':');
        if (colon < 0) {
            throw usage(spec, "expected KIND:ARGUMENT, one of " + KINDS);
        }
        String kind = spec.substring(0, colon);
        String arg = spec.substring(colon + 1);
        return switch (kind) {
            case "cmd" -> new Cmd(nonBlank(spec, arg, "COMMAND"));
            case "match" -> new Match(nonBlank(spec, arg, "FIELD"));
            case "regex" -> new Regex(pattern(spec, arg));
            case "implicit" -> implicit(spec, arg);
            case "judge" -> judge(spec, arg);
            case "rm" -> new RewardModel(Path.of(nonBlank(spec, arg, "RM.gguf")));
            default -> throw usage(spec, "unknown kind '" + kind + "'; the kinds are " + KINDS);
        };
    }

    private static String nonBlank(String spec, String arg, String what) {
        if (arg.isBlank()) {
            throw usage(spec, "missing " + what + " after the colon");
        }
        return arg;
    }

    private static Pattern pattern(String spec, String arg) {
        if (arg.isEmpty()) {
            throw usage(spec, "missing PATTERN after the colon");
        }
        try {
            return Pattern.compile(arg);
        } catch (PatternSyntaxException e) {
            throw usage(spec, "bad PATTERN: " + e.getDescription() + (e.getIndex() >= 0 ? " near index " + e.getIndex() : ""));
        }
    }

    private static Implicit implicit(String spec, String arg) {
        nonBlank(spec, arg, "REF.gguf");
        int last = arg.lastIndexOf(':');
        if (last < 0) {
            return new Implicit(Path.of(arg), DEFAULT_BETA);
        }
        String head = arg.substring(0, last);
        String tail = arg.substring(last + 1);
        Double beta = number(tail);
        if (beta == null && !endsWithGguf(head)) {
            return new Implicit(Path.of(arg), DEFAULT_BETA); // a colon inside the path
        }
        if (beta == null || !(beta > 0) || beta.isInfinite()) {
            throw usage(spec, "BETA must be a positive number, not '" + tail + "'");
        }
        return new Implicit(Path.of(nonBlank(spec, head, "REF.gguf")), beta);
    }

    private static Judge judge(String spec, String arg) {
        nonBlank(spec, arg, "JUDGE.gguf");
        int at = arg.toLowerCase(Locale.ROOT).indexOf(".gguf:");
        if (at < 0) {
            return new Judge(Path.of(arg), null);
        }
        String rubric = arg.substring(at + ".gguf:".length());
        return new Judge(Path.of(arg.substring(0, at + ".gguf".length())), Path.of(nonBlank(spec, rubric, "RUBRIC_FILE")));
    }

    private static boolean endsWithGguf(String s) {
        return s.toLowerCase(Locale.ROOT).endsWith(".gguf");
    }

    private static Double number(String s) {
        try {
            return Double.valueOf(s.strip());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static IllegalArgumentException usage(String spec, String why) {
        return new IllegalArgumentException("--reward '" + spec + "': " + why);
    }
}
