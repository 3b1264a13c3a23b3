package org.align4j.rso;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;

/**
 * Where an RSO run's wall time went, by stage. Stages nest (the sampler hands each finished prompt to a
 * callback that rewards, pairs and scores it), so every nanosecond is charged to the innermost stage
 * running: sampling is the sampler's own time, without the reward and scoring its callbacks do. What no
 * stage covers (reading and tokenizing prompts, the job's bookkeeping) is "other". Single-threaded.
 */
public final class RsoTimings {
    public enum Stage {
        /** Inside the sampler: decoding, drawing, the candidates' raw log-probs. */
        SAMPLING,
        /** Inside {@code Reward.score}. */
        REWARD,
        /** Building and tokenizing the pair records and scoring them under the policy and the reference. */
        SCORING,
        /** Writing the output files and committing the resume point. */
        WRITING
    }

    private final long[] nanos = new long[Stage.values().length];
    private final Deque<Stage> running = new ArrayDeque<>();
    private long mark;

    /** Enters {@code stage} until the returned handle is closed (try-with-resources). */
    public Span enter(Stage stage) {
        long now = System.nanoTime();
        if (!running.isEmpty()) {
            nanos[running.peek().ordinal()] += now - mark;
        }
        running.push(stage);
        mark = now;
        return this::exit;
    }

    private void exit() {
        long now = System.nanoTime();
        nanos[running.pop().ordinal()] += now - mark;
        mark = now;
    }

    /** An entered stage; closing it returns to the stage it was entered from. */
    @FunctionalInterface
    public interface Span extends AutoCloseable {
        @Override
        void close();
    }

    public double seconds(Stage stage) {
        return nanos[stage.ordinal()] / 1e9;
    }

    /**
     * {@code of 12.3 s: sampling 80.1%, reward 5.2%, scoring 12.0%, writing 0.4%, other 2.3%}: shares of a
     * run's wall time.
     */
    public String describe(double wallSeconds) {
        double staged = 0;
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "of %.1f s:", wallSeconds));
        for (Stage s : Stage.values()) {
            staged += seconds(s);
            b.append(String.format(Locale.ROOT, " %s %.1f%%,", s.name().toLowerCase(Locale.ROOT), 100 * seconds(s) / wallSeconds));
        }
        b.append(String.format(Locale.ROOT, " other %.1f%%", 100 * Math.max(0, wallSeconds - staged) / wallSeconds));
        return b.toString();
    }
}
