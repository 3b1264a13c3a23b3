package org.align4j.reward;

import static org.align4j.reward.RewardTestModels.texts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.align4j.Align4jException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** cmd: against real python3 child processes. */
class CommandRewardTest {
    @TempDir static Path tmp;

    /** Rewards the completion's length in characters; logs each request line to the file in argv[1]. */
    static final String LENGTH = """
            import sys, json
            log = open(sys.argv[1], "a") if len(sys.argv) > 1 else None
            for line in sys.stdin:
                if log:
                    log.write(line); log.flush()
                r = json.loads(line)
                print(json.dumps({"reward": len(r["completion"]), "note": "extra fields are ignored"}), flush=True)
            """;

    /** Rewards the number of lines read so far: one process serves every prompt. */
    static final String COUNTER = """
            import sys
            n = 0
            for line in sys.stdin:
                n += 1
                sys.stdout.write('{"reward": %d}\\n' % n); sys.stdout.flush()
            """;

    /** Answers normally, but on the completion "crash" says why on stderr and exits 3. */
    static final String CRASH = """
            import sys, json
            for line in sys.stdin:
                r = json.loads(line)
                if r["completion"] == "crash":
                    sys.stderr.write("warming up\\nboom: out of cheese\\n"); sys.stderr.flush()
                    sys.exit(3)
                print(json.dumps({"reward": 1.5}), flush=True)
            """;

    /** Second answer of each prompt is garbage or a string reward. */
    static final String GARBAGE = """
            import sys, json
            for line in sys.stdin:
                c = json.loads(line)["completion"]
                if c == "garbage":
                    print("Traceback: not json", flush=True)
                elif c == "string":
                    print('{"reward": "high"}', flush=True)
                elif c == "trailing":
                    print('{"reward": 1} {"reward": 2}', flush=True)
                elif c == "missing":
                    print('{"score": 1}', flush=True)
                else:
                    print('{"reward": 0.25}', flush=True)
            """;

    /** Prints two reward lines per request line, in one write(2) whatever PYTHONUNBUFFERED says. */
    static final String TWICE = """
            import os, sys
            for line in sys.stdin:
                os.write(1, b'{"reward": 1}\\n{"reward": 2}\\n')
            """;

    /** Answers every line; prints one more line right after answering the completion "last", and one at the end of its input. */
    static final String TRAILER = """
            import sys, json
            for line in sys.stdin:
                print(json.dumps({"reward": 1}), flush=True)
                if json.loads(line)["completion"] == "last":
                    print(json.dumps({"reward": 7}), flush=True)
            print(json.dumps({"reward": 0}), flush=True)
            """;

    /** Echoes each request's id and completion_index, except where the completion asks for a wrong one. */
    static final String ECHO = """
            import sys, json
            for line in sys.stdin:
                r = json.loads(line)
                a = {"id": r["id"], "reward": len(r["completion"])}
                if "completion_index" in r:
                    a["completion_index"] = r["completion_index"]
                if r["completion"] == "wrong-id":
                    a["id"] = "q0"
                elif r["completion"] == "wrong-index":
                    a["completion_index"] = r.get("completion_index", 0) + 1
                print(json.dumps(a), flush=True)
            """;

    /** Writes its pid, reads, never answers, and ignores the end of its input. */
    static final String HANG = """
            import sys, time
            open(sys.argv[1], "w").write(str(__import__("os").getpid()))
            sys.stdin.readline()
            sys.stderr.write("thinking very hard\\n"); sys.stderr.flush()
            time.sleep(600)
            """;

    @BeforeAll
    static void python3IsNeeded() throws Exception {
        Process p = new ProcessBuilder("sh", "-c", "command -v python3").start();
        assertThat(p.waitFor()).as("these tests run python3 child processes, and python3 is not on the PATH").isZero();
    }

    static String script(String name, String source) throws IOException {
        Path p = tmp.resolve(name + ".py");
        Files.writeString(p, source);
        return "python3 " + p;
    }

    /**
     * Whether {@code pid} still runs a second from now. A killed grandchild is reparented, and until its new
     * parent reaps it, it is a zombie (state Z), which is dead for this purpose.
     */
    static boolean aliveAfterASecond(long pid) throws Exception {
        for (int i = 0; i < 20; i++) {
            Path stat = Path.of("/proc/" + pid + "/stat");
            if (!Files.exists(stat)) {
                return false;
            }
            String s;
            try {
                s = Files.readString(stat);
            } catch (IOException gone) {
                return false;
            }
            if (s.substring(s.lastIndexOf(')') + 2).startsWith("Z")) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    static Reward open(String command, Duration timeout) {
        return Rewards.parse("cmd:" + command, RewardTestModels.context(timeout));
    }

    @Test
    void rewardsComeBackInOrderAndTheChildSeesTheRecord() throws Exception {
        Path log = tmp.resolve("requests.jsonl");
        try (Reward r = open(script("length", LENGTH) + " " + log, Duration.ofSeconds(30))) {
            RewardInput in = texts("p1", "{\"id\":\"p1\",\"prompt\":\"Say hi\",\"answer\":\"hi\",\"meta\":{\"k\":[1,2]}}",
                    "hi", "hello there", "", "héllo\nwörld \"quoted\"");
            double[] got = r.score(in);
            assertThat(got).containsExactly(2, 11, 0, 20); // Python counts characters: 5 + 1 + 5 + 1 + 8
            // A record without an id field: its line-number id is sent as a number; a conversational prompt as messages.
            assertThat(r.score(texts("41", "{\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}]}", "abc"))).containsExactly(3);
        }
        List<JsonNode> lines = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String l : Files.readAllLines(log)) {
            lines.add(json.readTree(l));
        }
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0).toString())
                .isEqualTo("{\"id\":\"p1\",\"prompt\":\"Say hi\",\"completion\":\"hi\",\"completion_index\":0,\"answer\":\"hi\",\"meta\":{\"k\":[1,2]}}");
        assertThat(lines.get(3).get("completion").textValue()).isEqualTo("héllo\nwörld \"quoted\"");
        assertThat(lines.get(3).get("completion_index").intValue()).isEqualTo(3);
        assertThat(lines.get(4).toString()).isEqualTo("{\"id\":41,\"prompt\":[{\"role\":\"user\",\"content\":\"q\"}],\"completion\":\"abc\",\"completion_index\":0}");
    }

    @Test
    void aLargeBatchDoesNotDeadlockOnPipeBuffers() throws Exception {
        int n = 20_000; // ~2.4 MB of requests and ~0.4 MB of answers, far beyond 64 KiB pipe buffers
        String[] cs = new String[n];
        for (int i = 0; i < n; i++) {
            cs[i] = "x".repeat(i % 97) + "y".repeat(20);
        }
        long t0 = System.nanoTime();
        double[] got;
        try (Reward r = open(script("length2", LENGTH), Duration.ofSeconds(30))) {
            got = r.score(texts("big", "{\"prompt\":\"p\"}", cs));
        }
        int wrong = 0;
        for (int i = 0; i < n; i++) {
            wrong += got[i] == cs[i].length() ? 0 : 1;
        }
        System.out.printf("cmd: %d completions in one batch through python3 in %.2f s, %d rewards out of order%n",
                n, (System.nanoTime() - t0) / 1e9, wrong);
        assertThat(wrong).isZero();
    }

    @Test
    void oneProcessServesEveryPrompt() throws Exception {
        try (Reward r = open(script("counter", COUNTER), Duration.ofSeconds(30))) {
            assertThat(r.score(texts("a", "{\"prompt\":\"p\"}", "x", "y", "z"))).containsExactly(1, 2, 3);
            assertThat(r.score(texts("b", "{\"prompt\":\"p\"}"))).isEmpty();
            assertThat(r.score(texts("c", "{\"prompt\":\"p\"}", "x", "y"))).containsExactly(4, 5);
        }
    }

    @Test
    void aChildThatExitsMidBatchIsAnErrorWithItsExitCodeAndStderr() throws Exception {
        String cmd = script("crash", CRASH);
        try (Reward r = open(cmd, Duration.ofSeconds(30))) {
            assertThatThrownBy(() -> r.score(texts("r7", "{\"prompt\":\"p\"}", "a", "b", "crash", "d")))
                    .isInstanceOf(Align4jException.class)
                    .hasMessage("record r7: reward command `" + cmd + "` exited with code 3 after 2 of 4 answers; "
                            + "last lines of its stderr:\n  warming up\n  boom: out of cheese");
            // The next prompt gets a fresh process.
            assertThat(r.score(texts("r8", "{\"prompt\":\"p\"}", "a", "b"))).containsExactly(1.5, 1.5);
        }
    }

    @Test
    void aCommandThatDoesNotExistIsReportedAtTheFirstRecord() {
        try (Reward r = open("no-such-reward-command-xyz --flag", Duration.ofSeconds(30))) {
            assertThatThrownBy(() -> r.score(texts("0", "{\"prompt\":\"p\"}", "a")))
                    .isInstanceOf(Align4jException.class)
                    .hasMessageStartingWith("record 0: reward command `no-such-reward-command-xyz --flag` exited with code 127 after 0 of 1 answers")
                    .hasMessageContaining("not found");
        }
    }

    @Test
    void garbageOrANonNumberRewardIsAnErrorNamingTheRecord() throws Exception {
        String cmd = script("garbage", GARBAGE);
        try (Reward r = open(cmd, Duration.ofSeconds(30))) {
            assertThatThrownBy(() -> r.score(texts("g1", "{\"prompt\":\"p\"}", "ok", "garbage", "ok")))
                    .isInstanceOf(Align4jException.class)
                    .hasMessage("record g1: reward command `" + cmd + "` answered completion 2 of 3 with 'Traceback: not json': "
                            + "it is not a single JSON object; expected one {\"reward\": number} line per completion on stdout");
            assertThatThrownBy(() -> r.score(texts("g2", "{\"prompt\":\"p\"}", "string")))
                    .hasMessage("record g2: reward command `" + cmd + "` answered completion 1 of 1 with '{\"reward\": \"high\"}': "
                            + "its \"reward\" is not a number; expected one {\"reward\": number} line per completion on stdout");
            assertThatThrownBy(() -> r.score(texts("g3", "{\"prompt\":\"p\"}", "ok", "missing")))
                    .hasMessageStartingWith("record g3: reward command `" + cmd + "` answered completion 2 of 2 with '{\"score\": 1}': it has no \"reward\"");
            assertThatThrownBy(() -> r.score(texts("g5", "{\"prompt\":\"p\"}", "trailing")))
                    .hasMessageStartingWith("record g5: reward command `" + cmd + "` answered completion 1 of 1 with "
                            + "'{\"reward\": 1} {\"reward\": 2}': it is not a single JSON object");
            assertThat(r.score(texts("g4", "{\"prompt\":\"p\"}", "ok"))).containsExactly(0.25);
        }
    }

    @Test
    void aChildThatHangsTimesOutAndCloseKillsIt() throws Exception {
        Path pidFile = tmp.resolve("hang.pid");
        String cmd = script("hang", HANG) + " " + pidFile;
        long t0 = System.nanoTime();
        try (Reward r = open(cmd, Duration.ofMillis(1500))) {
            assertThatThrownBy(() -> r.score(texts("slow-1", "{\"prompt\":\"p\"}", "a", "b")))
                    .isInstanceOf(Align4jException.class)
                    .hasMessage("record slow-1: reward command `" + cmd + "` gave no answer for completion 1 of 2 within 1.5 s "
                            + "(raise --reward-timeout if it needs longer); last lines of its stderr:\n  thinking very hard");
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        boolean alive = aliveAfterASecond(pid);
        System.out.printf("cmd: hanging child timed out after %.2f s (timeout 1.5 s); python3 pid %d alive after: %s%n", seconds, pid, alive);
        assertThat(alive).isFalse();
        assertThat(seconds).isLessThan(10);
    }

    @Test
    void aChildThatNeverReadsABigBatchTimesOutInsteadOfBlockingTheWriter() throws Exception {
        String cmd = script("deaf", "import time\ntime.sleep(600)\n");
        String[] cs = new String[5000];
        Arrays.fill(cs, "z".repeat(100)); // ~0.6 MB, ten times a pipe buffer
        long t0 = System.nanoTime();
        try (Reward r = open(cmd, Duration.ofSeconds(1))) {
            assertThatThrownBy(() -> r.score(texts("deaf-1", "{\"prompt\":\"p\"}", cs)))
                    .isInstanceOf(Align4jException.class)
                    .hasMessage("record deaf-1: reward command `" + cmd + "` gave no answer for completion 1 of 5000 within 1 s "
                            + "(raise --reward-timeout if it needs longer); it wrote nothing to stderr");
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("cmd: a child that never reads a 0.6 MB batch timed out and was closed in %.2f s (timeout 1 s)%n", seconds);
        assertThat(seconds).isLessThan(10);
    }

    @Test
    void closeEndsAChildThatIgnoresTheEndOfItsInput() throws Exception {
        Path pidFile = tmp.resolve("stubborn.pid");
        String cmd = script("stubborn", """
                import os, sys, time, json
                open(sys.argv[1], "w").write(str(os.getpid()))
                print(json.dumps({"reward": len(sys.stdin.readline())}), flush=True)
                time.sleep(600)
                """) + " " + pidFile;
        Reward r = open(cmd, Duration.ofSeconds(30));
        assertThat(r.score(texts("s", "{\"prompt\":\"p\"}", "a"))).hasSize(1);
        long t0 = System.nanoTime();
        r.close();
        r.close();
        double seconds = (System.nanoTime() - t0) / 1e9;
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        boolean alive = aliveAfterASecond(pid);
        System.out.printf("cmd: close of a child ignoring EOF took %.2f s (grace %d s); alive after: %s%n",
                seconds, CommandReward.CLOSE_GRACE_SECONDS, alive);
        assertThat(alive).isFalse();
    }

    @Test
    void aChildThatAnswersTwicePerLineFailsAtTheFirstRecordInsteadOfShiftingTheRewards() throws Exception {
        String cmd = script("twice", TWICE);
        try (Reward r = open(cmd, Duration.ofSeconds(30))) {
            assertThatThrownBy(() -> r.score(texts("t1", "{\"prompt\":\"p\"}", "a")))
                    .isInstanceOf(RewardProtocolException.class)
                    .hasMessageStartingWith("record t1: reward command `" + cmd + "` printed a line after its answers to this record's 1 "
                            + "request line: '{\"reward\": 2}'; stdout is for answers only, exactly one per request line "
                            + "(logs go to stderr). Answers are matched to requests by order");
        }
    }

    @Test
    void aLineAfterTheLastAnswerFailsTheRunNamingTheLastRecord() throws Exception {
        String cmd = script("trailer", TRAILER);
        // Seen when the child's stdin is closed: the job's try-with-resources gets it from close().
        assertThatThrownBy(() -> {
            try (Reward r = open(cmd, Duration.ofSeconds(30))) {
                assertThat(r.score(texts("l1", "{\"prompt\":\"p\"}", "a"))).containsExactly(1);
                assertThat(r.score(texts("l2", "{\"prompt\":\"p\"}", "a", "b"))).containsExactly(1, 1);
            }
        }).isInstanceOf(RewardProtocolException.class)
                .hasMessageStartingWith("record l2: reward command `" + cmd + "` printed a line after its answers to this record's 2 "
                        + "request lines: '{\"reward\": 0}'; stdout is for answers only, exactly one per request line "
                        + "(logs go to stderr). Answers are matched to requests by order");
        // Printed right after the last answer: seen with it, or at the latest by close(); the message is the same.
        assertThatThrownBy(() -> {
            try (Reward r = open(cmd, Duration.ofSeconds(30))) {
                assertThat(r.score(texts("l3", "{\"prompt\":\"p\"}", "a"))).containsExactly(1);
                r.score(texts("l4", "{\"prompt\":\"p\"}", "a", "last"));
            }
        }).isInstanceOf(RewardProtocolException.class)
                .hasMessageStartingWith("record l4: reward command `" + cmd + "` printed a line after its answers to this record's 2 "
                        + "request lines: '{\"reward\": 7}'; stdout is for answers only, exactly one per request line "
                        + "(logs go to stderr). Answers are matched to requests by order");
    }

    @Test
    void anAnswersIdAndCompletionIndexIfGivenMustBeItsRequests() throws Exception {
        String cmd = script("echo", ECHO);
        try (Reward r = open(cmd, Duration.ofSeconds(30))) {
            assertThat(r.score(texts("q1", "{\"id\":\"q1\",\"prompt\":\"p\"}", "a", "bb", "ccc"))).containsExactly(1, 2, 3);
            assertThat(r.score(texts("41", "{\"prompt\":\"p\"}", "dddd"))).containsExactly(4); // a line-number id, sent as 41
            assertThat(r.score(texts("7", "{\"id\":7,\"prompt\":\"p\"}", "e"))).containsExactly(1);
            assertThatThrownBy(() -> r.score(texts("q2", "{\"id\":\"q2\",\"prompt\":\"p\"}", "ok", "wrong-id")))
                    .isInstanceOf(Align4jException.class)
                    .hasMessage("record q2: reward command `" + cmd + "` answered completion 2 of 2 with \"id\": \"q0\", but it "
                            + "was sent \"id\": \"q2\"; answers come one per request line, in order");
            assertThatThrownBy(() -> r.score(texts("q3", "{\"id\":\"q3\",\"prompt\":\"p\"}", "ok", "wrong-index", "ok")))
                    .isInstanceOf(Align4jException.class)
                    .hasMessage("record q3: reward command `" + cmd + "` answered completion 2 of 3 with \"completion_index\": 2, "
                            + "but it was sent \"completion_index\": 1; answers come one per request line, in order");
            assertThat(r.score(texts("q4", "{\"id\":\"q4\",\"prompt\":\"p\"}", "ok"))).containsExactly(2);
        }
    }
}
