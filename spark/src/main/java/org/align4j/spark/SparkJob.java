package org.align4j.spark;

import java.io.Serializable;
import java.nio.file.Path;
import java.time.Duration;
import org.align4j.bon.BonJob;
import org.align4j.bon.SampleJob;
import org.align4j.job.RewardStage;
import org.align4j.reward.Reward;
import org.align4j.job.InputSegments;
import org.align4j.llama.Model;
import org.align4j.rso.RsoJob;
import org.align4j.score.ScoreJob;

/**
 * One align4j job as each Spark task runs it: the job layer's library call on one input segment at a time, on
 * this JVM's loaded models. Serializable, so that it travels with the task; the options go as JSON
 * ({@link OptionsJson}).
 */
public sealed interface SparkJob extends Serializable permits SparkJob.Sample, SparkJob.Bon, SparkJob.Rso, SparkJob.Score {
    /**
     * The CLI's segments for these options (never {@link InputSegments#NONE}): a task restarts the engine where
     * the CLI does, so it computes the same bits, and holds one segment at a time.
     */
    InputSegments segments();

    /** The output field that holds the id of the input record an output record came from. */
    default String inputIdField() {
        return "id";
    }

    /** The file beside {@code output} with one line of figures per input record that has them, or null: rso's acceptance log. */
    default Path acceptanceLog(Path output) {
        return null;
    }

    /** Runs the job on one segment's JSONL {@code input}, writing {@code output} (and its rejects) as the CLI does. */
    void run(Path input, Path output, String nativeDir);

    /** {@code align4j sample}. */
    record Sample(ModelFile model, String optionsJson) implements SparkJob {
        /** The options' files are ignored: Spark's input and output stand for them. */
        public static Sample of(ModelFile model, SampleJob.Options options) {
            return new Sample(model, OptionsJson.write(options));
        }

        public SampleJob.Options options() {
            return OptionsJson.read(optionsJson, SampleJob.Options.class);
        }

        @Override
        public InputSegments segments() {
            SampleJob.Options o = options();
            return InputSegments.forSampler(o.engine().maxSeqs(), o.n());
        }

        @Override
        public void run(Path input, Path output, String nativeDir) {
            Model m = ExecutorModels.get(model, nativeDir);
            SampleJob.run(m, options().withFiles(input, output).withResume(false).withQuiet(true));
        }
    }

    /**
     * {@code align4j bon}: the reward opened for each segment ({@link RewardStage#open}), from the model's path on
     * this node. Its reward curve and plots are the segment's, and are not kept.
     */
    record Bon(ModelFile model, String reward, Duration rewardTimeout, String optionsJson) implements SparkJob {
        public static Bon of(ModelFile model, String reward, Duration rewardTimeout, SampleJob.Options options) {
            return new Bon(model, reward, rewardTimeout, OptionsJson.write(options));
        }

        public SampleJob.Options options() {
            return OptionsJson.read(optionsJson, SampleJob.Options.class);
        }

        @Override
        public InputSegments segments() {
            SampleJob.Options o = options();
            return InputSegments.forSampler(o.engine().maxSeqs(), o.n());
        }

        @Override
        public void run(Path input, Path output, String nativeDir) {
            Model m = ExecutorModels.get(model, nativeDir);
            SampleJob.Options o = options().withFiles(input, output).withResume(false).withQuiet(true);
            try (Reward r = RewardStage.open(reward, m.path(), o.engine(), model.gpuLayers(), rewardTimeout)) {
                BonJob.run(m, r, o);
            }
        }
    }

    /**
     * {@code align4j rso}, the reward opened for each segment as for {@link Bon}; a null reference is none, as for
     * {@link RsoJob#run}. Its pairs name their prompt in {@code prompt_id}; {@code --keep-candidates} is the CLI's only.
     */
    record Rso(ModelFile policy, ModelFile reference, String reward, String optionsJson) implements SparkJob {
        public static Rso of(ModelFile policy, ModelFile reference, String reward, RsoJob.Options options) {
            return new Rso(policy, reference, reward, OptionsJson.write(options));
        }

        public RsoJob.Options options() {
            return OptionsJson.read(optionsJson, RsoJob.Options.class);
        }

        @Override
        public InputSegments segments() {
            return RsoJob.segments(options());
        }

        @Override
        public String inputIdField() {
            return "prompt_id";
        }

        @Override
        public Path acceptanceLog(Path output) {
            return RsoJob.acceptanceLogPath(output);
        }

        @Override
        public void run(Path input, Path output, String nativeDir) {
            Model p = ExecutorModels.get(policy, nativeDir);
            Model r = reference == null ? null : ExecutorModels.get(reference, nativeDir);
            RsoJob.Options o = options().withFiles(input, output, null).withResume(false).withQuiet(true);
            try (Reward rw = RewardStage.open(reward, p.path(), o.engine(), policy.gpuLayers(), o.rewardTimeout())) {
                RsoJob.run(p, r, rw, o);
            }
        }
    }

    /** {@code align4j score}; a null reference is none, as for {@link ScoreJob#run}. */
    record Score(ModelFile policy, ModelFile reference, String optionsJson) implements SparkJob {
        public static Score of(ModelFile policy, ModelFile reference, ScoreJob.Options options) {
            return new Score(policy, reference, OptionsJson.write(options));
        }

        public ScoreJob.Options options() {
            return OptionsJson.read(optionsJson, ScoreJob.Options.class);
        }

        @Override
        public InputSegments segments() {
            return InputSegments.forScorer(options().scorer().maxSeqs());
        }

        @Override
        public void run(Path input, Path output, String nativeDir) {
            Model p = ExecutorModels.get(policy, nativeDir);
            Model r = reference == null ? null : ExecutorModels.get(reference, nativeDir);
            ScoreJob.run(p, r, options().withFiles(input, output).withResume(false).withQuiet(true));
        }
    }
}
