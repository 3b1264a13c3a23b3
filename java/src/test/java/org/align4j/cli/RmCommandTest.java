package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.align4j.gguf.GgmlType;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.RewardHead;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code align4j rm train} from the command line on the demo model: it writes an RM file that {@code info}
 * shows with its head, metrics and a plot; its help says what a LoRA run writes; bad values are usage
 * errors (exit 2) naming the option.
 */
class RmCommandTest {
    static final Path DEMO = Path.of(System.getProperty("user.dir")).resolveSibling("models/demo/demo.gguf");

    @TempDir Path tmp;

    @Test
    void trainsAnRmFileThatInfoShowsWithItsHead() throws Exception {
        Path data = tmp.resolve("pairs.jsonl");
        Files.write(data, List.of(
                "{\"prompt\": \"12+30=\", \"chosen\": \"42\", \"rejected\": \"41\"}",
                "{\"prompt\": \"5+5=\", \"chosen\": \"10\", \"rejected\": \"11\", \"margin\": 0.5}",
                "{\"prompt\": \"100+1=\", \"chosen\": \"101\", \"rejected\": \"110\"}"));
        Path rm = tmp.resolve("rm.gguf");
        CliRun r = CliRun.of("rm", "train", "-m", DEMO.toString(), "--data", data.toString(), "--out", rm.toString(), "--max-steps", "2",
                "--batch-size", "2", "--lm-coef", "0.1", "--threads", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("rm: 2 steps (2 this run) on 3 pairs (0 skipped)").contains("last step: loss");
        assertThat(tmp.resolve("rm.gguf.metrics.jsonl")).exists();
        assertThat(tmp.resolve("rm.gguf.metrics.png")).exists();
        assertThat(Files.readAllLines(tmp.resolve("rm.gguf.metrics.jsonl")).getFirst()).contains("\"accuracy\"").contains("\"margin\"");

        CliRun info = CliRun.of("info", rm.toString());
        assertThat(info.exit()).isZero();
        assertThat(info.out()).containsPattern("reward head: +128 weights, bias ");
        assertThat(CliRun.of("info", DEMO.toString()).out()).doesNotContain("reward head");
    }

    // --lora-dropout needs the pass key in every training forward (the trainer refuses one without it), and
    // --merge-type is the type OUT's merged matrices are written in.
    @Test
    void aLoraRunWithDropoutWritesTheMergedBaseInTheMergeType() throws Exception {
        Path data = tmp.resolve("pairs.jsonl");
        Files.write(data, List.of(
                "{\"prompt\": \"12+30=\", \"chosen\": \"42\", \"rejected\": \"41\"}",
                "{\"prompt\": \"100+1=\", \"chosen\": \"101\", \"rejected\": \"110\"}"));
        Path rm = tmp.resolve("rm.gguf");
        CliRun r = CliRun.of("rm", "train", "-m", DEMO.toString(), "--data", data.toString(), "--out", rm.toString(), "--max-steps", "1",
                "--batch-size", "2", "--lora-rank", "2", "--lora-dropout", "0.1", "--merge-type", "q8_0", "--threads", "2");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("dropout 0.1");
        try (GgufFile f = GgufFile.open(rm)) {
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q8_0);
            assertThat(RewardHead.present(f)).isTrue();
        }
        CliRun full = CliRun.of("rm", "train", "-m", DEMO.toString(), "--data", data.toString(), "--out", tmp.resolve("o.gguf").toString(),
                "--merge-type", "q8_0");
        assertThat(full.exit()).isEqualTo(2);
        assertThat(full.err()).contains("--merge-type needs --lora-rank");
    }

    @Test
    void helpSaysWhatALoraRunWritesAndBadValuesAreUsageErrors() {
        CliRun help = CliRun.of("rm", "train", "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out()).contains("base merged with the adapter").contains("--lm-coef").contains("--lora-rank").contains("--lr")
                .contains("1/sqrt(hidden + 1)");
        CliRun bad = CliRun.of("rm", "train", "-m", DEMO.toString(), "--data", "x.jsonl", "--out", tmp.resolve("o.gguf").toString(),
                "--lm-coef", "-1");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("lm coefficient must be finite and >= 0.0, not -1.0");
        assertThat(CliRun.of("rm").exit()).isEqualTo(2);
    }
}
