package org.align4j.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.align4j.data.BadRecordException;
import org.align4j.data.JsonlLine;
import org.junit.jupiter.api.Test;

/**
 * The input-order pipeline's contract: whatever order work finishes in, outputs and rejects are written in
 * input order; no more than its bound is ever in flight; under FAIL the first refused line ends the writing;
 * engines are advanced at every segment start; replayed lines hold their place and are never written.
 */
class InputOrderTest {
    private static final Path FILE = Path.of("in.jsonl");

    /** Records what is written, in order. */
    private static class Recorder implements InputOrder.Sink<Integer> {
        final List<String> written = new ArrayList<>();

        @Override
        public void write(JsonlLine line, Integer output) {
            written.add(line.lineNumber() + "=" + output);
        }

        @Override
        public void reject(JsonlLine line, BadRecordException why) {
            written.add(line.lineNumber() + ":rejected");
        }
    }

    private static JsonlLine line(int n) {
        return new JsonlLine.Parsed(FILE, n, JsonNodeFactory.instance.objectNode().put("i", n));
    }

    /**
     * A stand-in engine that finishes its queued work in a shuffled order, some of it at each submit and all of
     * it on advance: completions arrive out of order, as they do from a sampler with long and short completions.
     */
    @Test
    void writesInInputOrderWhenWorkFinishesOutOfOrderAndNeverHoldsMoreThanItsBound() {
        int bound = 5;
        Recorder sink = new Recorder();
        List<InputOrder<Integer>.Slot> pending = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(7);
        Runnable finishAll = () -> {
            while (!pending.isEmpty()) {
                InputOrder<Integer>.Slot s = pending.remove(rng.nextInt(pending.size()));
                s.complete((int) s.line().lineNumber() * 10);
            }
        };
        InputOrder<Integer> order = new InputOrder<>(bound, ErrorPolicy.FAIL, finishAll, sink);
        List<String> expected = new ArrayList<>();
        for (int n = 1; n <= 200; n++) {
            pending.add(order.admit(line(n)));
            assertThat(order.inFlight()).isLessThanOrEqualTo(bound);
            expected.add(n + "=" + n * 10);
            if (rng.nextInt(3) == 0 && pending.size() > 1) { // finish one, not the oldest: the head waits
                InputOrder<Integer>.Slot s = pending.remove(1 + rng.nextInt(pending.size() - 1));
                s.complete((int) s.line().lineNumber() * 10);
            }
        }
        order.finish();
        System.out.println("InputOrder: 200 lines, bound " + bound + ", most in flight " + order.maxInFlight());
        assertThat(sink.written).containsExactlyElementsOf(expected);
        assertThat(order.maxInFlight()).isEqualTo(bound);
        assertThat(order.inFlight()).isZero();
    }

    @Test
    void rejectsGoInTheirTurnUnderSkip() {
        Recorder sink = new Recorder();
        InputOrder<Integer> order = new InputOrder<>(10, ErrorPolicy.SKIP, () -> {}, sink);
        InputOrder<Integer>.Slot first = order.admit(line(1));
        order.reject(line(2), new BadRecordException(FILE, 2, "malformed"));
        InputOrder<Integer>.Slot third = order.admit(line(3));
        InputOrder<Integer>.Slot fourth = order.admit(line(4));
        fourth.refuse(new BadRecordException(FILE, 4, "its reward is bad"));
        third.complete(3);
        assertThat(sink.written).isEmpty(); // line 1 is not done: nothing after it may be written
        first.complete(1);
        order.finish();
        assertThat(sink.written).containsExactly("1=1", "2:rejected", "3=3", "4:rejected");
    }

    @Test
    void underFailTheFirstRefusedLineEndsTheWritingAndTheReading() {
        Recorder sink = new Recorder();
        InputOrder<Integer> order = new InputOrder<>(10, ErrorPolicy.FAIL, () -> {}, sink);
        InputOrder<Integer>.Slot first = order.admit(line(1));
        InputOrder<Integer>.Slot second = order.admit(line(2));
        InputOrder<Integer>.Slot third = order.admit(line(3));
        BadRecordException bad = new BadRecordException(FILE, 2, "its reward is bad");
        second.refuse(bad);
        third.complete(3);
        first.complete(1);
        assertThatThrownBy(() -> order.admit(line(4))).isSameAs(bad);
        assertThatThrownBy(order::finish).isSameAs(bad);
        assertThat(sink.written).containsExactly("1=1");
    }

    @Test
    void theFirstLineOfEverySegmentStartsFromFinishedEngines() {
        Recorder sink = new Recorder();
        List<InputOrder<Integer>.Slot> pending = new ArrayList<>();
        List<Long> advancedBefore = new ArrayList<>();
        long[] next = {1};
        Runnable finishAll = () -> {
            advancedBefore.add(next[0]);
            pending.forEach(s -> s.complete((int) s.line().lineNumber()));
            pending.clear();
        };
        InputOrder<Integer> order = new InputOrder<>(100, new InputSegments(4), ErrorPolicy.FAIL, finishAll, sink);
        for (int n = 1; n <= 10; n++) {
            next[0] = n;
            pending.add(order.admit(line(n)));
            if (n == 5) {
                assertThat(sink.written).as("lines 1-4 are finished and written before line 5 is admitted").hasSize(4);
            }
        }
        order.finish();
        assertThat(advancedBefore).containsExactly(5L, 9L, 10L); // segment starts, then finish()
        assertThat(sink.written).hasSize(10);
    }

    @Test
    void aReplayedLineHoldsItsPlaceButIsNeverWrittenNorStopsTheRun() {
        Recorder sink = new Recorder() {
            @Override
            public boolean writtenBefore(JsonlLine line) {
                return line.lineNumber() <= 3;
            }
        };
        InputOrder<Integer> order = new InputOrder<>(10, ErrorPolicy.FAIL, () -> {}, sink);
        InputOrder<Integer>.Slot first = order.admit(line(1));
        InputOrder<Integer>.Slot second = order.admit(line(2));
        InputOrder<Integer>.Slot third = order.admit(line(3));
        InputOrder<Integer>.Slot fourth = order.admit(line(4));
        assertThat(List.of(first.replayed(), second.replayed(), third.replayed(), fourth.replayed()))
                .containsExactly(true, true, true, false);
        fourth.completeWith(() -> 4);
        second.refuse(new BadRecordException(FILE, 2, "refused again on replay")); // under FAIL, yet no halt
        third.completeWith(() -> {
            throw new AssertionError("a replayed line's output is never made");
        });
        assertThat(order.inFlight()).isEqualTo(4); // line 1 still holds the head
        first.complete(1);
        order.admit(line(5)).complete(5);
        order.finish();
        assertThat(sink.written).containsExactly("4=4", "5=5");
    }

    @Test
    void aLineNeverCompletedIsAnErrorNotASilentGap() {
        InputOrder<Integer> order = new InputOrder<>(2, ErrorPolicy.FAIL, () -> {}, new Recorder());
        order.admit(line(1));
        order.admit(line(2));
        assertThatThrownBy(() -> order.admit(line(3))).isInstanceOf(IllegalStateException.class).hasMessageContaining("in.jsonl:1");
    }
}
