package org.align4j.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.align4j.RepoFiles;
import org.align4j.bon.BonJob;
import org.align4j.bon.SampleJob;
import org.align4j.engine.Adapters;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.engine.ScorerOptions;
import org.align4j.job.RewardStage;
import org.align4j.llama.Model;
import org.align4j.llama.ModelOptions;
import org.align4j.reward.Reward;
import org.align4j.rso.Pairing;
import org.align4j.rso.RejectionSampler;
import org.align4j.rso.RsoJob;
import org.align4j.score.ScoreJob;
import org.align4j.job.ErrorPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job called as a library on models that are already open (as {@code loop}, the demo and Spark executors
 * call them) writes the same bytes as the CLI with the same options: one model opened once serves
 * {@code sample}, {@code bon}, {@code rso} and {@code score} in turn.
 */
class JobAsLibraryTest {
    @TempDir Path tmp;

    @Test
    void jobsOnAnOpenModelWriteWhatTheCliWrites() throws IOException {
        Path demo = RepoFiles.demoDir();
        Path model = demo.resolve("demo.gguf");
        Path prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, Files.readAllLines(demo.resolve("heldout.jsonl")).subList(0, 12));
        String[] engine = {"--ctx", "32", "--seqs", "16", "--batch-tokens", "64", "--threads", "1", "--quiet"};
        String[] sampling = {"--temperature", "1", "--max-tokens", "8", "--seed", "5"};
        SamplerOptions samplerOptions = new SamplerOptions(32, 64, 16, 1);
        SamplingParams params = new SamplingParams(1f, 0, 1f, 0f, 1f, 64, 8, List.of(), 5);

        run("sample", "-m", model, "-i", prompts, "-o", tmp.resolve("cli-sample.jsonl"), "-n", "4", engine, sampling);
        run("bon", "-m", model, "-i", prompts, "-o", tmp.resolve("cli-bon.jsonl"), "-n", "4", "--reward", "match:answer", engine, sampling);
        run("rso", "-m", model, "-i", prompts, "-o", tmp.resolve("cli-pairs.jsonl"), "--reward", "match:answer", "--candidates", "6",
                "--accept", "4", "--beta", "1", "--pairing", "tournament", "--top-k", "0", engine, sampling);
        run("score", "-m", model, "-i", tmp.resolve("cli-pairs.jsonl"), "-o", tmp.resolve("cli-scored.jsonl"), "--ctx", "64",
                "--seqs", "16", "--batch-tokens", "64", "--threads", "1", "--quiet");

        try (Model m = Model.load(model, ModelOptions.inference(0));
             Reward reward = RewardStage.open("match:answer", model, samplerOptions, 0, Duration.ofSeconds(60))) {
            SampleJob.Options o = SampleJob.Options.of(prompts, tmp.resolve("lib-sample.jsonl"), 4, samplerOptions, params).withQuiet(true);
            SampleJob.run(m, o);
            BonJob.run(m, reward, o.withFiles(prompts, tmp.resolve("lib-bon.jsonl")));
            RsoJob.run(m, null, reward, new RsoJob.Options(prompts, tmp.resolve("lib-pairs.jsonl"), null,
                    Duration.ofSeconds(60), 6, 4, RejectionSampler.rso(1), new Pairing(Pairing.Scheme.TOURNAMENT, Pairing.TieRule.SKIP),
                    ErrorPolicy.FAIL, false, true, 0, samplerOptions, params, Adapters.none()));
            ScoreJob.run(m, null, ScoreJob.Options.of(tmp.resolve("lib-pairs.jsonl"), tmp.resolve("lib-scored.jsonl"),
                    new ScorerOptions(64, 64, 16, 1, true, 0, true)).withQuiet(true));
        }
        for (String name : new String[] {"sample", "bon", "pairs", "scored"}) {
            byte[] cli = Files.readAllBytes(tmp.resolve("cli-" + name + ".jsonl"));
            byte[] lib = Files.readAllBytes(tmp.resolve("lib-" + name + ".jsonl"));
            System.out.println("job as library: " + name + ": " + cli.length + " bytes from the CLI, " + lib.length + " from the library call");
            assertThat(cli.length).as(name).isPositive();
            assertThat(lib).as(name + ": library call vs CLI").isEqualTo(cli);
        }
    }

    private static void run(Object... args) {
        List<String> a = new java.util.ArrayList<>();
        for (Object o : args) {
            if (o instanceof String[] more) {
                a.addAll(List.of(more));
            } else {
                a.add(o.toString());
            }
        }
        CliRun r = CliRun.of(a.toArray(String[]::new));
        assertThat(r.exit()).as(String.join(" ", a) + "\n" + r.err()).isZero();
    }
}
