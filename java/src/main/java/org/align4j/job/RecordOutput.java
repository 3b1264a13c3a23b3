package org.align4j.job;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.align4j.Align4jException;
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
    private final ResumeState resume;
    private final JsonlWriter writer;
    private final RejectsWriter rejects;
    private ProgressReporter progress;

    private RecordOutput(Path input, ResumeState resume, JsonlWriter writer, RejectsWriter rejects) {
        this.input = input;
        this.resume = resume;
        this.writer = writer;
        this.rejects = rejects;
    }

    /**
     * Opens {@code output} for a run over {@code input}: refuses an existing output without {@code resume};
     * under {@code resume} hands each record the earlier run wrote to {@code resumed} first.
     */
    public static RecordOutput open(Path input, Path output, boolean resume, ResumeState.RecordSink resumed) {
        if (Files.exists(output) && !resume) {
            throw new Align4jException(output + " exists: pass --resume to continue it, or remove it");
        }
        ResumeState state = resume ? ResumeState.scan(output, resumed) : ResumeState.empty();
        JsonlWriter writer = resume ? JsonlWriter.append(output) : JsonlWriter.create(output);
        try {
            return new RecordOutput(input, state, writer, resume ? RejectsWriter.append(output) : RejectsWriter.create(output));
        } catch (RuntimeException e) {
            writer.close();
            throw e;
        }
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
        try (rejects) {
            writer.close();
        }
    }
}
