package org.align4j.job;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Supplier;
import org.align4j.data.BadRecordException;
import org.align4j.data.JsonlLine;

/**
 * The input-order pipeline every job runs its records through: each input line is admitted in input order,
 * its work finishes in any order (engines, rewards, scorers report when they can), and its output, or its
 * rejects line, is written in input order once everything before it is written. At most {@code bound}
 * lines are in flight: admitting one more first runs the job's {@code advance} (which finishes queued engine
 * work), so memory does not grow with the input. With {@link InputSegments}, the first line of each segment
 * runs {@code advance} too, so that the engines start every segment as new.
 *
 * <p>A line the sink says an earlier run wrote or rejected ({@link Sink#writtenBefore}) is replayed: the
 * job computes it as before, so that the lines after it meet the engines as they did then, and it holds
 * its place in the order, but nothing is written for it and it never halts the job.
 *
 * <p>Under {@link ErrorPolicy#FAIL} the first line refused after it was admitted {@linkplain #halt() halts}
 * the job: the lines before it are still finished and written, nothing from it on is, and {@link #finish()}
 * throws its exception. Under SKIP a refused line is written to the rejects in its turn. Not thread-safe:
 * the job's thread admits, completes and drains.
 *
 * @param <T> a finished line's output
 */
public final class InputOrder<T> {
    /** Where finished lines go, in input order. */
    public interface Sink<T> {
        void write(JsonlLine line, T output);

        /** A line refused under SKIP. */
        void reject(JsonlLine line, BadRecordException why);

        /** Whether an earlier run (resumed from) already wrote or rejected {@code line}. */
        default boolean writtenBefore(JsonlLine line) {
            return false;
        }
    }

    /** One admitted line: finished with {@link #complete} or {@link #refuse}, once. */
    public final class Slot {
        private final JsonlLine line;
        private final boolean replayed;
        private T output;
        private BadRecordException refused;
        private boolean finished;

        private Slot(JsonlLine line, boolean replayed) {
            this.line = line;
            this.replayed = replayed;
        }

        public JsonlLine line() {
            return line;
        }

        /** Whether an earlier run wrote or rejected this line: whatever it finishes with is not written. */
        public boolean replayed() {
            return replayed;
        }

        public void complete(T value) {
            finish();
            output = value;
            drain();
        }

        /** Completes the line with {@code value}, made only if it is to be written (not for a replayed line). */
        public void completeWith(Supplier<T> value) {
            complete(replayed ? null : value.get());
        }

        /** The line is bad after all (its reward, its pairs, its tokens): a reject in its turn, or under FAIL the end. */
        public void refuse(BadRecordException why) {
            finish();
            refused = why;
            if (onError == ErrorPolicy.FAIL && halt == null && !replayed) {
                halt = why;
            }
            drain();
        }

        private void finish() {
            if (finished) {
                throw new IllegalStateException(line.location() + " finished twice");
            }
            finished = true;
        }
    }

    private final int bound;
    private final InputSegments segments;
    private final ErrorPolicy onError;
    private final Runnable advance;
    private final Sink<T> sink;
    private final Deque<Slot> queue = new ArrayDeque<>();
    private BadRecordException halt;    // FAIL: the first line refused after admission
    private BadRecordException failure; // FAIL: that line reached the head: nothing more is written
    private int maxInFlight;
    private long segment; // of the line admitted last

    /**
     * @param bound   lines in flight at most
     * @param advance finishes the engine work queued so far (completing the slots waiting on it)
     */
    public InputOrder(int bound, ErrorPolicy onError, Runnable advance, Sink<T> sink) {
        this(bound, InputSegments.NONE, onError, advance, sink);
    }

    /** As above, with {@code advance} also run before the first line of each of {@code segments}. */
    public InputOrder(int bound, InputSegments segments, ErrorPolicy onError, Runnable advance, Sink<T> sink) {
        if (bound < 1) {
            throw new IllegalArgumentException("bound must be positive, not " + bound);
        }
        this.bound = bound;
        this.segments = segments;
        this.onError = onError;
        this.advance = advance;
        this.sink = sink;
    }

    /**
     * Admits the next input line, after making room for it.
     *
     * @throws BadRecordException under FAIL, once a line admitted earlier was refused: stop reading
     */
    public Slot admit(JsonlLine line) {
        if (halt != null) {
            throw halt;
        }
        long s = segments.of(line.lineNumber());
        if (s != segment) {
            segment = s;
            advance.run();
            drain();
        }
        if (queue.size() >= bound) {
            advance.run();
            if (queue.size() >= bound) {
                throw new IllegalStateException(bound + " lines in flight and the engines have nothing left to finish: "
                        + queue.peekFirst().line.location() + " is never completed");
            }
        }
        Slot slot = new Slot(line, sink.writtenBefore(line));
        queue.add(slot);
        maxInFlight = Math.max(maxInFlight, queue.size());
        return slot;
    }

    /** A line refused as it was read (malformed, not the job's record), under SKIP: its rejects line in its turn. */
    public void reject(JsonlLine line, BadRecordException why) {
        admit(line).refuse(why);
    }

    /** The first line refused after admission under FAIL, or null. */
    public BadRecordException halt() {
        return halt;
    }

    /** Lines admitted and not yet written. */
    public int inFlight() {
        return queue.size();
    }

    /** The most lines that were in flight at once. */
    public int maxInFlight() {
        return maxInFlight;
    }

    /**
     * Finishes and writes every admitted line ({@code advance}, then the queue); under FAIL, up to the first
     * refused one, whose exception it then throws.
     */
    public void finish() {
        advance.run();
        drain();
        if (failure != null) {
            throw failure;
        }
        if (!queue.isEmpty() && halt == null) {
            throw new IllegalStateException(queue.peekFirst().line.location() + " was never completed");
        }
    }

    /** Writes what is finished at the head of the queue, in input order. */
    public void drain() {
        while (failure == null && !queue.isEmpty() && queue.peekFirst().finished) {
            Slot s = queue.peekFirst();
            if (s.refused != null && onError == ErrorPolicy.FAIL && !s.replayed) {
                failure = s.refused;
                return;
            }
            queue.pollFirst();
            if (s.replayed) {
                continue;
            }
            if (s.refused != null) {
                sink.reject(s.line, s.refused);
            } else {
                sink.write(s.line, s.output);
            }
        }
    }
}
