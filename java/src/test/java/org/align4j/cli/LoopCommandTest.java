package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code align4j loop}'s usage errors: each is exit 2 naming the option, before anything is loaded or written. */
class LoopCommandTest {
    @TempDir Path tmp;

    CliRun loop(String... extra) {
        String[] base = {"loop", "--policy", tmp.resolve("absent.gguf").toString(), "-i", tmp.resolve("p.jsonl").toString(),
                "-o", tmp.resolve("run").toString(), "--reward", "match:answer"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return CliRun.of(args);
    }

    @Test
    void badOptionsAreUsageErrorsNamingTheOption() {
        record Case(String[] args, String message) {}
        for (Case c : new Case[] {
                new Case(new String[] {"--pairs", "best"}, "unknown pairs 'best'"),
                new Case(new String[] {"-n", "1"}, "-n must be at least 2"),
                new Case(new String[] {"-n", "4", "--accept", "8"}, "--accept must be in [2, -n 4]"),
                new Case(new String[] {"--rounds", "0"}, "--rounds must be at least 1"),
                new Case(new String[] {"--pairing", "swiss"}, "unknown pairing 'swiss'"),
                new Case(new String[] {"--loss", "nope"}, "unknown loss 'nope'"),
                new Case(new String[] {"--lora-alpha", "8"}, "--lora-alpha needs --lora-rank"),
                new Case(new String[] {"--lora-rank", "0"}, "--lora-rank must be at least 1"),
                new Case(new String[] {"--lora-rank", "4", "--lora-dropout", "1"}, "--lora-dropout must be at least 0 and below 1"),
                new Case(new String[] {"--lora-rank", "4", "--lora-targets", "q,x"}, "--lora-targets: unknown LoRA target 'x'"),
                new Case(new String[] {"--merge", "m.gguf"}, "--merge needs --lora-rank"),
                new Case(new String[] {"--lora-rank", "4", "--merge-type", "q8_0"}, "--merge-type needs --merge")}) {
            CliRun r = loop(c.args());
            assertThat(r.exit()).as(String.join(" ", c.args())).isEqualTo(2);
            assertThat(r.err()).as(String.join(" ", c.args())).contains(c.message());
        }
        assertThat(tmp.resolve("run")).doesNotExist();
    }

    @Test
    void helpListsTheLoopsOwnAndSharedOptions() {
        CliRun r = CliRun.of("help", "loop");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("--rounds", "--pairs", "--rso-beta", "--eval", "--rpo-alpha", "--lr", "--temperature",
                "--train-threads", "--lora-rank", "--lora-alpha", "--lora-targets", "--lora-init", "--merge", "--merge-type", "--peft");
    }
}
