package org.align4j.job;

import org.align4j.data.Jsonl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.AtomicFile;

/**
 * Resume for jobs that write a group of records per input line (zero or more, to several files: RSO's
 * pairs, its candidates and its rejects). After each input line is finished and its records flushed,
 * the job commits the line number and every output file's size to {@code OUT.resume.json} (replaced
 * atomically). A resumed run cuts every file back to the committed sizes, dropping a group that was
 * being written when the run died, and continues after the committed line: input is processed in
 * order, so every line up to it is done and none after it is.
 */
public final class ResumePoint {
    private final Path file;
    private final List<Path> outputs;
    private final long linesDone;

    private ResumePoint(Path file, List<Path> outputs, boolean resume) {
        this.file = file;
        this.outputs = List.copyOf(outputs);
        this.linesDone = resume ? cutBack() : 0;
    }

    /** The resume file of a job whose main output is {@code output}. */
    public static Path pathFor(Path output) {
        return output.resolveSibling(output.getFileName() + ".resume.json");
    }

    /** For a fresh run: nothing committed yet. */
    public static ResumePoint fresh(Path output, List<Path> outputs) {
        return new ResumePoint(pathFor(output), outputs, false);
    }

    /**
     * For {@code --resume}: cuts {@code outputs} back to the last commit; {@link #linesDone} says where to
     * continue.
     *
     * @throws Align4jException if there is no commit for files that hold records, a file is shorter than
     *     committed, or the commit names other files: resuming would lose or duplicate records
     */
    public static ResumePoint resume(Path output, List<Path> outputs) {
        return new ResumePoint(pathFor(output), outputs, true);
    }

    /** Input lines (1-based, in order) finished before this run: skip them. */
    public long linesDone() {
        return linesDone;
    }

    private long cutBack() {
        if (!Files.exists(file)) {
            for (Path o : outputs) {
                if (size(o) > 0) {
                    throw new Align4jException(o + " has records but " + file + " is missing, so what was finished is unknown: not resuming");
                }
            }
            return 0;
        }
        JsonNode commit;
        try {
            commit = Jsonl.MAPPER.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new Align4jException(file + ": unreadable resume point: " + IoMessages.describe(e), e);
        }
        JsonNode sizes = commit.path("bytes");
        for (Path o : outputs) {
            JsonNode committed = sizes.get(o.getFileName().toString());
            if (committed == null || !committed.canConvertToLong()) {
                throw new Align4jException(file + ": no size for " + o.getFileName() + ": it belongs to another run's files; not resuming");
            }
            long keep = committed.longValue();
            long have = size(o);
            if (have < keep) {
                throw new Align4jException(o + " is " + have + " bytes, shorter than the " + keep + " committed in " + file
                        + ": records were lost outside align4j; not resuming");
            }
            if (have > keep) {
                try (FileChannel ch = FileChannel.open(o, StandardOpenOption.WRITE)) {
                    ch.truncate(keep);
                } catch (IOException e) {
                    throw new Align4jException(o + ": cannot cut back to the last resume point: " + IoMessages.describe(e), e);
                }
            }
        }
        return commit.path("line").asLong();
    }

    /** Records that input lines up to 1-based {@code line} are finished and their records flushed. */
    public void commit(long line) {
        ObjectNode c = Jsonl.MAPPER.createObjectNode().put("line", line);
        ObjectNode sizes = c.putObject("bytes");
        for (Path o : outputs) {
            sizes.put(o.getFileName().toString(), size(o));
        }
        try {
            AtomicFile.write(file, tmp -> Files.writeString(tmp, c.toString(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new Align4jException(file + ": cannot write the resume point: " + IoMessages.describe(e), e);
        }
    }

    private static long size(Path p) {
        try {
            return Files.exists(p) ? Files.size(p) : 0;
        } catch (IOException e) {
            throw new Align4jException(p + ": " + IoMessages.describe(e), e);
        }
    }
}
