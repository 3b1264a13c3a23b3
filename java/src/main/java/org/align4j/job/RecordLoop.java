package org.align4j.job;

import org.align4j.data.BadRecordException;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.PromptRecord;
import org.align4j.data.RecordId;
import org.align4j.data.TrlRecord;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The input side every job shares: each line of a JSONL file, in order, with {@code --resume} and the
 * {@link ErrorPolicy} applied. Lines an earlier run already wrote or rejected are passed over; a malformed
 * line, or a record the job refuses with a {@link BadRecordException}, either stops the run (fail: after
 * {@code beforeFailing} has flushed what was read before it, so a resumed run goes on from there) or goes
 * to the rejects file (or to the job's {@link Skip}) and the loop goes on (skip). A record with the id of an
 * earlier line is refused so (ids name output records, key their seeds and {@code --resume}), the lines an
 * earlier run did included. A job that resumes from a {@link ResumePoint} passes
 * {@link ResumeState#afterLine}.
 *
 * <p>With {@link InputSegments}, the lines the earlier run finished in the segment the run goes on in are not
 * passed over but handed to the job again, in order, before the first new line: a replay, which the job's
 * {@link InputOrder} computes without writing, so the new lines meet the engines as in an uninterrupted run.
 * Replayed lines are handled as under SKIP whatever the policy now is: nothing of theirs is written.
 */
public final class RecordLoop {
    private RecordLoop() {}

    /** What a job does with one record; throws {@link BadRecordException} to refuse it. */
    @FunctionalInterface
    public interface Step<R> {
        void accept(R record);
    }

    /** What a job does with a line it skips under {@link ErrorPolicy#SKIP}. */
    @FunctionalInterface
    public interface Skip {
        void skip(JsonlLine line, BadRecordException why);
    }

    /**
     * The loop without segments.
     *
     * @param parse         the job's record type from a line ({@code PromptRecord::of}, {@code TrlRecord::parse})
     * @param beforeFailing finishes and writes the work read before a bad record stops the run; a failure in
     *                      it is added to the bad record's exception as suppressed
     * @param skip          what the job does with a line it skips: its rejects go in input order with the rest of
     *                      its output
     */
    public static <R extends TrlRecord> void run(JsonlReader reader, ResumeState resume, ErrorPolicy onError,
                                                 Function<JsonlLine.Parsed, R> parse, Step<R> step, Runnable beforeFailing,
                                                 Skip skip) {
        run(reader, resume, InputSegments.NONE, onError, parse, step, beforeFailing, skip);
    }

    /** The loop of a job that resumes by {@code segments}, replaying the finished part of the segment it resumes in. */
    public static <R extends TrlRecord> void run(JsonlReader reader, ResumeState resume, InputSegments segments,
                                                 ErrorPolicy onError, Function<JsonlLine.Parsed, R> parse, Step<R> step,
                                                 Runnable beforeFailing, Skip skip) {
        Map<RecordId, Long> seen = new HashMap<>(); // id -> the line that has it
        List<JsonlLine> finished = new ArrayList<>(); // the earlier run's lines in this segment; null once past them
        for (JsonlLine line : reader) {
            if (finished != null) {
                if (!finished.isEmpty() && segments.of(finished.getFirst().lineNumber()) != segments.of(line.lineNumber())) {
                    finished.clear();
                }
                if (resume.finished(line)) {
                    register(line, parse, seen);
                    if (segments.cuts()) {
                        finished.add(line);
                    }
                    continue;
                }
                for (JsonlLine replayed : finished) { // nothing of theirs is written, so nothing of theirs stops the run
                    handle(replayed, ErrorPolicy.SKIP, parse, step, beforeFailing, skip);
                }
                finished = null;
            }
            if (resume.isRejected(line.lineNumber())) {
                continue;
            }
            handle(line, onError, parse, record -> {
                Long first = seen.putIfAbsent(record.id(), line.lineNumber());
                if (first != null) {
                    throw new BadRecordException(record.file(), record.lineNumber(), "duplicate id " + record.id() + ": line "
                            + first + " has it too; ids must be unique, as they name output records, key their seeds and"
                            + " --resume");
                }
                if (!resume.isDone(record.id())) {
                    step.accept(record);
                }
            }, beforeFailing, skip);
        }
    }

    // Notes the id of a line the earlier run did, for the duplicates after it.
    private static <R extends TrlRecord> void register(JsonlLine line, Function<JsonlLine.Parsed, R> parse, Map<RecordId, Long> seen) {
        if (line instanceof JsonlLine.Parsed parsed) {
            try {
                seen.putIfAbsent(parse.apply(parsed).id(), line.lineNumber());
            } catch (BadRecordException e) {
                // refused by the earlier run: it has no id to count
            }
        }
    }

    private static <R extends TrlRecord> void handle(JsonlLine line, ErrorPolicy onError, Function<JsonlLine.Parsed, R> parse,
                                                     Step<R> step, Runnable beforeFailing, Skip skip) {
        try {
            if (line instanceof JsonlLine.Malformed bad) {
                throw bad.toException();
            }
            step.accept(parse.apply((JsonlLine.Parsed) line));
        } catch (BadRecordException e) {
            if (onError == ErrorPolicy.FAIL) {
                try {
                    beforeFailing.run();
                } catch (RuntimeException f) {
                    e.addSuppressed(f);
                }
                throw e;
            }
            skip.skip(line, e);
        }
    }
}
