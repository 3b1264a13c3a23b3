package org.align4j.reward;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.align4j.Align4jException;

/**
 * {@code cmd:COMMAND}: one long-lived child process, {@code sh -c COMMAND}, started at the first prompt.
 *
 * <p>Protocol, UTF-8, one JSON object per line each way. For each completion align4j writes
 * {@code {"id", "prompt", "completion", ...the record's other fields}} to the child's stdin, where
 * {@code id} is the record's id ({@code id} field, else 0-based line number), {@code prompt} the record's
 * prompt field as read (a string, or TRL messages) and {@code completion} the completion's text. The child
 * answers each line with one {@code {"reward": number}} line on its stdout, in order (further fields are
 * ignored). Stdout is for answers only: the child logs to stderr, which align4j keeps the last lines of
 * for its error messages and otherwise discards.
 *
 * <p>A prompt's N lines are written at once, by a writer thread, while a reader thread drains the
 * child's stdout, so no batch size can deadlock on full pipe buffers; each answer must arrive within the
 * timeout of the one before. A crash (exit code and last stderr lines reported), an answer that is not
 * {@code {"reward": number}}, or a timeout is an Align4jException naming the record and the command;
 * the child is then killed, and the next prompt starts a fresh one. {@link #close()} closes the child's
 * stdin, gives it {@value #CLOSE_GRACE_SECONDS} s to exit, then terminates it and its descendants.
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
    public double[] score(RewardInput in) {
        int n = in.completions().size();
        double[] rewards = new double[n];
        if (n == 0) {
            return rewards;
        }
        byte[] lines = requestLines(in);
        if (child == null) {
            child = start();
        }
        try {
            child.requireNoStrayAnswer(in);
            child.send(lines, timeout);
            for (int i = 0; i < n; i++) {
                rewards[i] = reward(in, child.nextAnswer(in, i, n, timeout), i, n);
            }
            return rewards;
        } catch (RuntimeException e) {
            child.kill();
            child = null;
            throw e;
        }
    }

    private byte[] requestLines(RewardInput in) {
        StringBuilder sb = new StringBuilder();
        for (Completion c : in.completions()) {
            ObjectNode line = JSON.createObjectNode();
            JsonNode id = in.record().get("id");
            line.set("id", id != null ? id : idNode(in.id()));
            JsonNode prompt = in.record().get("prompt");
            line.set("prompt", prompt != null ? prompt : JSON.getNodeFactory().textNode(in.promptText()));
            line.put("completion", c.text());
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

    /** A line-number id is a number, as in the output records. */
    private static JsonNode idNode(String id) {
        return id.matches("\\d{1,18}") ? JSON.getNodeFactory().numberNode(Long.parseLong(id)) : JSON.getNodeFactory().textNode(id);
    }

    private double reward(RewardInput in, String answer, int i, int n) {
        JsonNode node;
        try {
            node = JSON.readTree(answer);
        } catch (JsonProcessingException e) {
            node = null;
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
            throw new Align4jException("reward command `" + command + "`: cannot start sh: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (child != null) {
            child.stop();
            child = null;
        }
    }

    /** A line of stdout, or the end of it ({@code line} null). */
    private record Answer(String line) {}

    /** One running child and the threads that feed it and drain it. */
    private final class Child {
        final Process process;
        final OutputStream stdin;
        final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
        final Deque<String> stderrTail = new ArrayDeque<>(); // guarded by itself
        final Thread stdoutReader;
        final Thread stderrReader;
        Thread writer;

        Child(Process process) {
            this.process = process;
            this.stdin = process.getOutputStream();
            this.stdoutReader = Thread.ofPlatform().daemon().name("reward-cmd-stdout").start(this::readStdout);
            this.stderrReader = Thread.ofPlatform().daemon().name("reward-cmd-stderr").start(this::readStderr);
        }

        private void readStdout() {
            try (BufferedReader r = reader(process.getInputStream())) {
                for (String line; (line = r.readLine()) != null; ) {
                    answers.add(new Answer(line));
                }
            } catch (IOException e) {
                // The stream closes when the child is killed: that is its end.
            }
            answers.add(new Answer(null));
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

        /** Writes a prompt's request lines on a writer thread; a write to a dead child fails quietly, the reader reports it. */
        void send(byte[] lines, Duration timeout) {
            awaitWriter(timeout);
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

        /** Before a prompt is sent: a line already waiting would be taken for its first answer. */
        void requireNoStrayAnswer(RewardInput in) {
            Answer a = answers.peek();
            if (a != null && a.line() != null) {
                throw failure(in, "printed " + excerpt(a.line()) + " before it was asked: more answers than "
                        + "completions on an earlier prompt, or output that is not an answer");
            }
        }

        /** Answer {@code i} (0-based) of {@code n}, read within {@code timeout}. */
        String nextAnswer(RewardInput in, int i, int n, Duration timeout) {
            Answer a;
            try {
                a = answers.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw failure(in, "was interrupted while waiting for an answer");
            }
            if (a == null) {
                throw failure(in, "gave no answer for completion " + (i + 1) + " of " + n + " within " + seconds(timeout)
                        + " (raise --reward-timeout if it needs longer)" + stderrSuffix());
            }
            if (a.line() == null) {
                throw failure(in, ended() + " after " + i + " of " + n + " answers" + stderrSuffix());
            }
            return a.line();
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

        /** Closes stdin so the child can finish, then terminates it if it does not. */
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
        }
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }
}
