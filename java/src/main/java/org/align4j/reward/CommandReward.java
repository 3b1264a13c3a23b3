package org.align4j.reward;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.align4j.Align4jException;
import org.align4j.IoMessages;

/**
 * {@code cmd:COMMAND}: one long-lived child process, {@code sh -c COMMAND}, started at the first prompt.
 *
 * <p>Protocol (README, "The cmd:COMMAND protocol"), UTF-8, one JSON object per line each way. For
 * completion i (0-based) of a prompt align4j writes {@code {"id", "prompt", "completion",
 * "completion_index": i, ...the record's other fields}} to the child's stdin; the child answers each line,
 * in order, with exactly one {@code {"reward": number}} line on stdout, which may echo {@code "id"} and
 * {@code "completion_index"} (checked when present). Stdout is for answers only; logs go to stderr, whose
 * last lines align4j keeps for its error messages.
 *
 * <p>A prompt's N lines are written at once, by a writer thread, while a reader thread drains the
 * child's stdout, so no batch size can deadlock on full pipe buffers; each answer must arrive within the
 * timeout of the one before. The reader queues what one read of the pipe returned together, so a line
 * the child wrote with its N-th answer is seen with it. A line beyond the N answers is an error naming
 * the prompt it followed: when it came with the last answer, when it is waiting before the next prompt
 * is sent, and at the latest in {@link #close()}, which closes the child's stdin, gives it
 * {@value #CLOSE_GRACE_SECONDS} s to exit (then terminates it and its descendants) and reads its stdout
 * to the end. Every failure is an Align4jException naming the record and the command; after one in
 * {@link #score} the child is killed, and the next prompt starts a fresh one.
 */
final class CommandReward implements Reward {
    static final int CLOSE_GRACE_SECONDS = 2;
    private static final int STDERR_LINES = 10;
    private static final int EXCERPT_CHARS = 200;
    private static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final String command;
    private final Duration timeout;
    private Child child; // null before the first prompt and after a failure

    CommandReward(String command, Duration timeout) {
        this.command = command;
        this.timeout = timeout;
    }

    @Override
    public Identity identity() {
        return new Identity("cmd:" + command, List.of());
    }

    @Override
    public double[] score(RewardInput in) {
        int n = in.completions().size();
        double[] rewards = new double[n];
        if (n == 0) {
            return rewards;
        }
        JsonNode sentId = sentId(in);
        byte[] lines = requestLines(in, sentId);
        if (child == null) {
            child = start();
        }
        try {
            child.requireNoStrayLine(); // printed after the previous prompt's answers
            child.send(in.id(), n, lines, timeout);
            for (int i = 0; i < n; i++) {
                rewards[i] = reward(in, sentId, child.nextAnswer(in, i, n, timeout), i, n);
            }
            child.requireNoStrayLine(); // came with the last answer
            return rewards;
        } catch (RuntimeException e) {
            child.kill();
            child = null;
            throw e;
        }
    }

    /** The record's {@code id} field as read, else its line-number id as a number, as in the output records. */
    private static JsonNode sentId(RewardInput in) {
        JsonNode id = in.record().get("id");
        return id != null ? id : idNode(in.id());
    }

    private byte[] requestLines(RewardInput in, JsonNode id) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < in.completions().size(); i++) {
            ObjectNode line = JSON.createObjectNode();
            line.set("id", id);
            JsonNode prompt = in.record().get("prompt");
            line.set("prompt", prompt != null ? prompt : JSON.getNodeFactory().textNode(in.promptText()));
            line.put("completion", in.completions().get(i).text());
            line.put("completion_index", i);
            in.record().properties().forEach(f -> {
                if (!line.has(f.getKey())) {
                    line.set(f.getKey(), f.getValue());
                }
            });
            try {
                sb.append(JSON.writeValueAsString(line)).append('\n');
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static JsonNode idNode(String id) {
        return id.matches("\\d{1,18}") ? JSON.getNodeFactory().numberNode(Long.parseLong(id)) : JSON.getNodeFactory().textNode(id);
    }

    private double reward(RewardInput in, JsonNode sentId, String answer, int i, int n) {
        JsonNode node;
        try {
            node = JSON.readTree(answer);
        } catch (JsonProcessingException e) {
            node = null;
        }
        if (node instanceof ObjectNode o) {
            requireEcho(in, o, "id", sentId, i, n);
            requireEcho(in, o, "completion_index", JSON.getNodeFactory().numberNode(i), i, n);
        }
        JsonNode r = node instanceof ObjectNode o ? o.get("reward") : null;
        if (r == null || !r.isNumber()) {
            String why = node instanceof ObjectNode ? (r == null ? "it has no \"reward\"" : "its \"reward\" is not a number")
                    : "it is not a single JSON object";
            throw failure(in, "answered completion " + (i + 1) + " of " + n + " with " + excerpt(answer) + ": " + why
                    + "; expected one {\"reward\": number} line per completion on stdout");
        }
        double v = r.doubleValue();
        if (!Double.isFinite(v)) {
            throw failure(in, "answered completion " + (i + 1) + " of " + n + " with a reward out of double range: " + excerpt(answer));
        }
        return v;
    }

    /** An answer's {@code field}, if it has one, must be what its request line was sent. */
    private void requireEcho(RewardInput in, ObjectNode answer, String field, JsonNode sent, int i, int n) {
        JsonNode got = answer.get(field);
        if (got != null && !sameJson(got, sent)) {
            throw failure(in, "answered completion " + (i + 1) + " of " + n + " with \"" + field + "\": " + excerptJson(got)
                    + ", but it was sent \"" + field + "\": " + excerptJson(sent) + "; answers come one per request line, in order");
        }
    }

    /** Equal JSON, numbers by value: an id read as 41 is the 41 sent, whatever Java type holds each. */
    private static boolean sameJson(JsonNode a, JsonNode b) {
        return a.equals(b) || a.isNumber() && b.isNumber() && a.decimalValue().compareTo(b.decimalValue()) == 0;
    }

    private static String excerptJson(JsonNode n) {
        String s = n.toString();
        return s.length() > EXCERPT_CHARS ? s.substring(0, EXCERPT_CHARS) + "..." : s;
    }

    private Align4jException failure(RewardInput in, String what) {
        return failure(in.id(), what);
    }

    private Align4jException failure(String id, String what) {
        return new Align4jException("record " + id + ": reward command `" + command + "` " + what);
    }

    private static String excerpt(String s) {
        String e = s.length() > EXCERPT_CHARS ? s.substring(0, EXCERPT_CHARS) + "..." : s;
        return "'" + e + "'";
    }

    private Child start() {
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", command);
        try {
            return new Child(pb.start());
        } catch (IOException e) {
            throw new Align4jException("reward command `" + command + "`: cannot start sh: " + IoMessages.describe(e), e);
        }
    }

    /** Stops the child; a line it printed after its last answers is an error naming that prompt's record. */
    @Override
    public void finish() {
        if (child != null) {
            Child c = child;
            child = null;
            c.stop();
            c.requireNoStrayLine();
        }
    }

    @Override
    public void close() {
        finish();
    }

    /** The complete lines of stdout that one read returned, or the end of stdout ({@code lines} null). */
    private record Chunk(List<String> lines) {}

    /** One running child and the threads that feed it and drain it. */
    private final class Child {
        final Process process;
        final OutputStream stdin;
        final BlockingQueue<Chunk> stdout = new LinkedBlockingQueue<>();
        final Deque<String> stderrTail = new ArrayDeque<>(); // guarded by itself
        final Thread stdoutReader;
        final Thread stderrReader;
        Thread writer;
        // Only the job thread touches these.
        final Deque<String> unread = new ArrayDeque<>(); // lines of taken chunks not yet consumed
        boolean stdoutEnded;
        String lastId; // the record whose request lines were sent last, and how many
        int lastCount;

        Child(Process process) {
            this.process = process;
            this.stdin = process.getOutputStream();
            this.stdoutReader = Thread.ofPlatform().daemon().name("reward-cmd-stdout").start(this::readStdout);
            this.stderrReader = Thread.ofPlatform().daemon().name("reward-cmd-stderr").start(this::readStderr);
        }

        /** Splits stdout into lines (LF, or CRLF) and queues each read's complete lines as one chunk. */
        private void readStdout() {
            ByteArrayOutputStream partial = new ByteArrayOutputStream();
            byte[] buf = new byte[64 * 1024];
            try (InputStream in = process.getInputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    List<String> lines = new ArrayList<>();
                    int start = 0;
                    for (int i = 0; i < n; i++) {
                        if (buf[i] == '\n') {
                            partial.write(buf, start, i - start);
                            lines.add(decodeLine(partial));
                            start = i + 1;
                        }
                    }
                    partial.write(buf, start, n - start);
                    if (!lines.isEmpty()) {
                        stdout.add(new Chunk(lines));
                    }
                }
            } catch (IOException e) {
                // The stream closes when the child is killed: that is its end.
            }
            if (partial.size() > 0) {
                stdout.add(new Chunk(List.of(decodeLine(partial))));
            }
            stdout.add(new Chunk(null));
        }

        private static String decodeLine(ByteArrayOutputStream bytes) {
            String s = bytes.toString(StandardCharsets.UTF_8);
            bytes.reset();
            return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
        }

        private void readStderr() {
            try (BufferedReader r = reader(process.getErrorStream())) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (stderrTail) {
                        if (stderrTail.size() == STDERR_LINES) {
                            stderrTail.removeFirst();
                        }
                        stderrTail.addLast(line.length() > EXCERPT_CHARS ? line.substring(0, EXCERPT_CHARS) + "..." : line);
                    }
                }
            } catch (IOException e) {
                // as for stdout
            }
        }

        private static BufferedReader reader(InputStream in) {
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        }

        /**
         * Writes record {@code id}'s {@code n} request lines on a writer thread; a write to a dead child fails
         * quietly, the reader reports it.
         */
        void send(String id, int n, byte[] lines, Duration timeout) {
            awaitWriter(timeout);
            lastId = id;
            lastCount = n;
            writer = Thread.ofVirtual().name("reward-cmd-stdin").start(() -> {
                try {
                    stdin.write(lines);
                    stdin.flush();
                } catch (IOException e) {
                    // Broken pipe: the child has exited; its exit is what the reader reports.
                }
            });
        }

        private void awaitWriter(Duration timeout) {
            if (writer == null) {
                return;
            }
            try {
                if (!writer.join(timeout)) {
                    throw new Align4jException("reward command `" + command + "` answered a prompt without reading all of it");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Align4jException("interrupted while writing to reward command `" + command + "`", e);
            }
        }

        /**
         * Between prompts, and after a prompt's last answer: a line of stdout that has arrived is one beyond the
         * answers of the prompt sent last (and would be taken for the next prompt's first answer).
         */
        void requireNoStrayLine() {
            for (Chunk c; unread.isEmpty() && !stdoutEnded && (c = stdout.poll()) != null; ) {
                take(c);
            }
            String line = unread.peekFirst();
            if (line == null) {
                return;
            }
            String what = "printed a line after its answers to this record's " + lastCount
                    + (lastCount == 1 ? " request line: " : " request lines: ") + excerpt(line)
                    + "; stdout is for answers only, exactly one per request line (logs go to stderr)";
            throw new RewardProtocolException((lastId != null ? "record " + lastId + ": reward command `" + command + "` " + what
                    : "reward command `" + command + "` printed " + excerpt(line)
                            + " before it was sent a request; stdout is for answers only (logs go to stderr)")
                    + ". Answers are matched to requests by order, so the rewards before this line may belong to other"
                    + " requests: the output is not to be trusted (answers that carry \"id\" and \"completion_index\""
                    + " are checked as they come)");
        }

        /** Answer {@code i} (0-based) of {@code n}, read within {@code timeout}. */
        String nextAnswer(RewardInput in, int i, int n, Duration timeout) {
            if (unread.isEmpty() && !stdoutEnded) {
                Chunk c;
                try {
                    c = stdout.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw failure(in, "was interrupted while waiting for an answer");
                }
                if (c == null) {
                    throw failure(in, "gave no answer for completion " + (i + 1) + " of " + n + " within " + seconds(timeout)
                            + " (raise --reward-timeout if it needs longer)" + stderrSuffix());
                }
                take(c);
            }
            if (unread.isEmpty()) {
                throw failure(in, ended() + " after " + i + " of " + n + " answers" + stderrSuffix());
            }
            return unread.removeFirst();
        }

        private void take(Chunk c) {
            if (c.lines() == null) {
                stdoutEnded = true;
            } else {
                unread.addAll(c.lines());
            }
        }

        /** How the child ended its stdout: its exit code if it exited. */
        private String ended() {
            try {
                if (process.waitFor(CLOSE_GRACE_SECONDS, TimeUnit.SECONDS)) {
                    stderrReader.join(Duration.ofSeconds(1)); // its last lines
                    return "exited with code " + process.exitValue();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "closed its stdout while still running";
        }

        private String stderrSuffix() {
            synchronized (stderrTail) {
                return stderrTail.isEmpty() ? "; it wrote nothing to stderr"
                        : "; last lines of its stderr:\n  " + String.join("\n  ", stderrTail);
            }
        }

        /** After a failure: no grace. Returns once the child has exited, or after a second. */
        void kill() {
            process.descendants().forEach(ProcessHandle::destroyForcibly); // before the child, whose orphans they would become
            process.destroyForcibly();
            try {
                process.waitFor(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Closes stdin so the child can finish, then terminates it if it does not, and reads its stdout to the end. */
        void stop() {
            try {
                // A writer still blocked on a child that stopped reading holds the stream: terminate instead.
                if (writer == null || writer.join(Duration.ofSeconds(CLOSE_GRACE_SECONDS))) {
                    stdin.close();
                }
            } catch (IOException e) {
                // already gone
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                if (!process.waitFor(CLOSE_GRACE_SECONDS, TimeUnit.SECONDS)) {
                    process.descendants().forEach(ProcessHandle::destroy);
                    process.destroy();
                    if (!process.waitFor(1, TimeUnit.SECONDS)) {
                        kill();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                kill();
            }
            try {
                // Its stdout ends when it exits, unless an escaped descendant still holds the pipe.
                stdoutReader.join(Duration.ofSeconds(1));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }
}
