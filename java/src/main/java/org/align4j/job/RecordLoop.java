package org.align4j.job;

import org.align4j.data.BadRecordException;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.PromptRecord;
import org.align4j.data.RecordId;
import org.align4j.data.TrlRecord;

import java.util.HashMap;
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
     * @param parse         the job's record type from a line ({@code PromptRecord::of}, {@code TrlRecord::parse})
     * @param beforeFailing finishes and writes the work read before a bad record stops the run; a failure in
     *                      it is added to the bad record's exception as suppressed
     * @param skip          what the job does with a line it skips: its rejects go in input order with the rest of
     *                      its output
     */
    public static <R extends TrlRecord> void run(JsonlReader reader, ResumeState resume, ErrorPolicy onError,
                                                 Function<JsonlLine.Parsed, R> parse, Step<R> step, Runnable beforeFailing,
                                                 Skip skip) {
        Map<RecordId, Long> seen = new HashMap<>(); // id -> the line that has it
        for (JsonlLine line : reader) {
            if (resume.isRejected(line.lineNumber())) {
                continue;
            }
            boolean doneLine = resume.isDoneLine(line.lineNumber());
            try {
                if (line instanceof JsonlLine.Malformed bad) {
                    throw bad.toException();
                }
                R record = parse.apply((JsonlLine.Parsed) line);
                Long first = seen.putIfAbsent(record.id(), line.lineNumber());
                if (first != null) {
                    throw new BadRecordException(record.file(), record.lineNumber(), "duplicate id " + record.id() + ": line "
                            + first + " has it too; ids must be unique, as they name output records, key their seeds and"
                            + " --resume");
                }
                if (!doneLine && !resume.isDone(record.id())) {
                    step.accept(record);
                }
            } catch (BadRecordException e) {
                if (doneLine) {
                    continue; // handled by the earlier run
                }
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
}
