package org.align4j.rm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.align4j.Align4jException;
import org.align4j.demo.DemoRewardModel;
import org.align4j.demo.DemoSets;
import org.align4j.gguf.GgufFile;
import org.align4j.gguf.GgufTensorInfo;
import org.align4j.gguf.RewardHead;
import org.align4j.job.ErrorPolicy;
import org.align4j.job.RunCheckpoint;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.train.LoraConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rm train} on the demo model: a run stopped after a checkpoint and resumed writes the same RM
 * file, byte for byte, as one that ran straight through (full and LoRA); the RM file loads in llama.cpp
 * and carries the trained head; a LoRA run's file is the base merged with the adapter (the tensors the
 * adapter does not touch byte for byte the base's); bad records are refused or skipped as {@code dpo}'s.
 */
class RmJobTest {
    @TempDir Path tmp;

    RmOptions.Builder options(Path data, Path out) {
        return RmOptions.builder(RmDemoTest.DEMO, data, out).learningRate(1e-3).batchSize(4).gradAccum(2).maxSteps(6).warmupSteps(2)
                .weightDecay(0.01).saveEvery(2).threads(2).quiet(true);
    }

    Path pairs(int n) {
        return DemoRewardModel.writePairs(RmDemoTest.DEMO.resolveSibling(DemoSets.TRAIN_FILE), n, tmp.resolve("pairs.jsonl"), 3);
    }

    static List<RmStep> run(RmOptions o) {
        List<RmStep> steps = new ArrayList<>();
        new RmJob(o, new PrintWriter(new StringWriter())).run(steps::add);
        return steps;
    }

    @Test
    void aResumedFullRunWritesTheSameFileAsAnUninterruptedOne() throws IOException {
        resumesBitIdentically(null);
    }

    @Test
    void aResumedLoraRunWritesTheSameFileAndItIsTheMergedBasePlusTheHead() throws IOException {
        Path out = resumesBitIdentically(new LoraConfig(4, 8f, LoraConfig.ofRank(4).targets()));
        try (GgufFile base = GgufFile.open(RmDemoTest.DEMO); GgufFile rm = GgufFile.open(out)) {
            int merged = 0;
            for (GgufTensorInfo t : base.tensors()) {
                boolean same = rm.tensorData(t.name()).mismatch(base.tensorData(t.name())) == -1;
                boolean adapted = t.name().matches("blk\\.\\d+\\.(attn_(q|k|v|output)|ffn_(gate|up|down))\\.weight");
                assertThat(same).as("%s is %s", t.name(), adapted ? "merged" : "the base's").isEqualTo(!adapted);
                merged += adapted ? 1 : 0;
            }
            assertThat(merged).isPositive();
            assertThat(RewardHead.present(rm)).isTrue();
        }
    }

    // Without the pass key (LoraDropout.passKey) the trainer refuses a forward under dropout; with it, the masks are a
    // function of (seed, step, micro-batch), so a resumed run draws the ones the uninterrupted run drew.
    @Test
    void aLoraRunWithDropoutResumesBitIdenticallyAndOnlyWithTheSameDropout() throws IOException {
        LoraConfig dropout = new LoraConfig(4, 8f, LoraConfig.ofRank(4).targets(), 0.25f);
        Path out = resumesBitIdentically(dropout);
        RmOptions resumed = options(pairs(20), out).lora(dropout.withDropout(0)).resume(true).build();
        assertThatThrownBy(() -> run(resumed)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(resumed.checkpoint() + " was trained with lora_dropout 0.25, not (none)");
    }

    // Straight through vs stopped at step 5 (checkpoint at 4) and resumed on 1 thread: the same bytes. Returns the RM file.
    Path resumesBitIdentically(LoraConfig lora) throws IOException {
        Path data = pairs(20);
        RmOptions straight = options(data, tmp.resolve("straight.gguf")).lora(lora).build();
        List<RmStep> a = run(straight);
        RmOptions stopped = straight.toBuilder().out(tmp.resolve("resumed.gguf")).metrics(null).checkpoint(null).build();
        assertThatThrownBy(() -> new RmJob(stopped, new PrintWriter(new StringWriter())).run(s -> {
            if (s.step() == 5) {
                throw new IllegalStateException("killed");
            }
        })).hasMessage("killed");
        assertThat(RunCheckpoint.read(stopped.checkpoint(), "rm").state().step()).isEqualTo(4);
        List<RmStep> b = run(stopped.toBuilder().resume(true).threads(1).build());
        assertThat(b).extracting(RmStep::step).containsExactly(5, 6);
        assertThat(b).containsExactlyElementsOf(a.subList(4, 6));
        byte[] x = Files.readAllBytes(straight.out());
        byte[] y = Files.readAllBytes(stopped.out());
        System.out.printf("rm resume (%s): RM files of %d and %d bytes, first difference at %d (-1: none)%n",
                lora == null ? "full" : lora, x.length, y.length, java.util.Arrays.mismatch(x, y));
        assertThat(y).isEqualTo(x);
        assertThat(Files.readAllLines(stopped.metrics())).containsExactlyElementsOf(Files.readAllLines(straight.metrics()));
        try (Model m = Model.load(straight.out(), ModelOptions.DEFAULT); GgufFile f = GgufFile.open(straight.out())) {
            assertThat(RewardHead.read(f, m.nEmbd()).hiddenSize()).isEqualTo(m.nEmbd());
        }
        assertThat(a.getLast().step()).isEqualTo(6);
        return straight.out();
    }

    @Test
    void badRecordsAreRefusedOrSkippedAndResumeChecksTheSettings() throws IOException {
        Path data = pairs(6);
        List<String> lines = new ArrayList<>(Files.readAllLines(data));
        lines.add(2, "{\"prompt\": \"1+1=\", \"completion\": \"2\"}");
        lines.add(4, "{\"prompt\": \"1+2=\", \"chosen\": \"3\", \"rejected\": \"4\", \"margin\": \"big\"}");
        Files.write(data, lines);
        RmOptions o = options(data, tmp.resolve("rm.gguf")).maxSteps(2).build();
        assertThatThrownBy(() -> run(o)).isInstanceOf(Align4jException.class)
                .hasMessageContaining(data + ":3").hasMessageContaining("rm trains on preference records");
        RmOptions skip = o.toBuilder().onError(ErrorPolicy.SKIP).build();
        run(skip);
        List<String> rejects = Files.readAllLines(tmp.resolve("rm.gguf.rejects.jsonl"));
        assertThat(rejects).hasSize(2);
        assertThat(rejects.get(1)).contains("\\\"margin\\\" must be a finite number");
        assertThatThrownBy(() -> run(skip)).hasMessageContaining("a checkpoint of an earlier run is at " + skip.checkpoint());
        assertThatThrownBy(() -> run(skip.toBuilder().resume(true).lmCoef(0.5).build()))
                .hasMessageContaining(skip.checkpoint() + " was trained with lm_coef 0.0, not 0.5");
    }
}
