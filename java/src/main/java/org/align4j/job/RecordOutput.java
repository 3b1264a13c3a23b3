package org.align4j.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.align4j.data.BadRecordException;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.JsonlWriter;

/**
 * The output side of a job that writes one record per input record ({@code sample}, {@code bon},
 * {@code score}): the JSONL output and its rejects file, created fresh or, under {@code --resume}, cut back
 * to their last complete line and appended to; what the earlier run did ({@link ResumeState}); the run's
 * progress. As an {@link InputOrder.Sink} it writes records and rejects in input order, and names the lines
 * the earlier run finished, which a resumed run replays without writing.
 */
public final class RecordOutput implements InputOrder.Sink<RecordOutput.Done>, AutoCloseable {
    /** A finished record and the tokens it took (generated or scored), for progress. */
    public record Done(ObjectNode record, long tokens) {}

    private final Path input;
    private final Path output;
    private final OutputLock lock;
    private final ResumeState resume;
    private final JsonlWriter writer;
    private final RejectsWriter rejects;
    private ProgressReporter progress;

    private RecordOutput(Path input, Path output, OutputLock lock, ResumeState resume, JsonlWriter writer, RejectsWriter rejects) {
        this.input = input;
        this.output = output;
        this.lock = lock;
        this.resume = resume;
        this.writer = writer;
        this.rejects = rejects;
    }

    /**
     * Opens {@code output} for {@code run} ({@link RunFingerprint#claim}: the output's lock, and a fresh
     * output or, under {@code resume}, the same run's); under {@code resume} hands each record the earlier
     * run wrote to {@code resumed} first.
     */
    public static RecordOutput open(RunFingerprint run, Path output, boolean resume, ResumeState.RecordSink resumed) {
        OutputLock lock = run.claim(output, resume);
        JsonlWriter writer = null;
        try {
            ResumeState state = resume ? ResumeState.scan(output, resumed) : ResumeState.empty();
            writer = resume ? JsonlWriter.append(output) : JsonlWriter.create(output);
            return new RecordOutput(run.input(), output, lock, state, writer, resume ? RejectsWriter.append(output) : RejectsWriter.create(output));
        } catch (RuntimeException e) {
            try (lock) {
                if (writer != null) {
                    writer.close();
                }
            }
            throw e;
        }
    }

    /** The output's records are not to be trusted: see {@link RunFingerprint#markBroken}. */
    public void markBroken(String why) {
        RunFingerprint.markBroken(output, why);
    }

    public ResumeState resume() {
        return resume;
    }

    /** Starts the run's clock and progress line (once the engines are made: the summary's rate is the job's). */
    public ProgressReporter startProgress(String job, boolean quiet) {
        long left = JsonlReader.countNonBlankLines(input) - resume.records() - resume.rejects();
        progress = ProgressReporter.toStderr(job, OptionalLong.of(Math.max(0, left)), quiet);
        return progress;
    }

    @Override
    public void write(JsonlLine line, Done done) {
        writer.write(done.record());
        progress.recordDone(done.tokens());
    }

    @Override
    public boolean writtenBefore(JsonlLine line) {
        return resume.finished(line);
    }

    @Override
    public void reject(JsonlLine line, BadRecordException why) {
        rejects.reject(line, why);
        progress.recordSkipped();
    }

    @Override
    public void close() {
        try (lock; rejects) {
            writer.close();
        }
    }
}
