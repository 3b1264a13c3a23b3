package org.align4j.spark;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicInteger;
import org.align4j.bon.SampleJob;
import org.align4j.llama.Model;
import org.apache.spark.SparkEnv;
import org.apache.spark.Success$;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Dataset API on Spark's multi-process test master: a standalone master and two workers, each running one
 * executor JVM of one core (SPARK_HOME is target/spark-home, whose jars/ the build fills). The executors find the
 * native libraries through {@link Align4jSpark#NATIVE_DIR_CONF} and load the model themselves.
 */
class Align4jSparkClusterTest {
    static SparkSession spark;
    static final AtomicInteger failedTasks = new AtomicInteger();
    @TempDir static Path tmp;
    static Path prompts;
    static SampleJob.Options options;
    static Map<String, String> cli;

    @BeforeAll
    static void start() throws IOException {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        spark = SparkSession.builder().master("local-cluster[2,1,1024]").appName("align4j-cluster-test")
                .config("spark.ui.enabled", "false")
                .config("spark.executor.extraJavaOptions", System.getProperty("spark.jvm.flags"))
                .config("spark.executor.extraClassPath", classPath)
                .config(Align4jSpark.NATIVE_DIR_CONF, System.getProperty("align4j.native.dir"))
                .getOrCreate();
        spark.sparkContext().addSparkListener(new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (!(end.reason() instanceof Success$)) {
                    failedTasks.incrementAndGet();
                }
            }
        });
        prompts = tmp.resolve("prompts.jsonl");
        Files.write(prompts, SparkTests.prompts(70));
        Path model = SparkTests.demoDir().resolve("demo.gguf");
        options = SampleJob.Options.of(prompts, tmp.resolve("cli.jsonl"), Align4jSparkLocalTest.N, Align4jSparkLocalTest.SAMPLER,
                Align4jSparkLocalTest.SAMPLING).withQuiet(true);
        try (Model m = Model.load(model, ModelFile.of(model).options())) {
            SampleJob.run(m, options);
        }
        cli = SparkTests.byId(tmp.resolve("cli.jsonl"));
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static JobRows sample() {
        return Align4jSpark.sample(Align4jSpark.readJsonl(spark, prompts.toString()), prompts.toString(),
                ModelFile.of(SparkTests.demoDir().resolve("demo.gguf")), options);
    }

    @Test
    void twoExecutorJvmsWriteTheCliRecords() {
        List<String> rows = SparkTests.values(sample().records());
        assertThat(SparkTests.assertSameRecords("sample, local-cluster[2,1,1024]", cli, rows)).isEqualTo(70);
    }

    @Test
    void eachExecutorJvmLoadsTheModelOnceForAllItsTasks() {
        SparkTests.values(sample().records()); // a task per partition, some of several segments, after the other tests' tasks

        List<String> loads = spark.range(0, 8, 1, 8)
                .map((MapFunction<Long, String>) i -> SparkEnv.get().executorId() + "=" + ExecutorModels.loads(), Encoders.STRING())
                .distinct().collectAsList();

        System.out.println("model loads per executor JVM (executor=loads), after every task of this class: " + loads);
        assertThat(loads).as("executor=loads").isNotEmpty().allSatisfy(l -> assertThat(l).matches("[0-9]+=[01]"));
        assertThat(loads).anySatisfy(l -> assertThat(l).endsWith("=1"));
    }

    @Test
    void aTaskThatFailsOnceIsRetriedToTheSameRows() {
        int failedBefore = failedTasks.get();
        Dataset<Row> records = sample().records();
        Dataset<Row> faulted = records.mapPartitions(new FailFirstAttempt(), Encoders.row(records.schema()));

        List<String> rows = SparkTests.values(faulted);

        System.out.println("fault: " + (failedTasks.get() - failedBefore) + " task attempt(s) failed and were retried");
        assertThat(failedTasks.get() - failedBefore).as("failed task attempts").isPositive();
        assertThat(SparkTests.assertSameRecords("sample after a task failed once, local-cluster[2,1,1024]", cli, rows)).isEqualTo(70);
    }

    /** The first attempt of partition 0 fails after its first row: after its first segment went through the engine. */
    static final class FailFirstAttempt implements MapPartitionsFunction<Row, Row> {
        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            TaskContext task = TaskContext.get();
            if (task.partitionId() != 0 || task.attemptNumber() != 0) {
                return rows;
            }
            return new Iterator<>() {
                private int handed;

                @Override
                public boolean hasNext() {
                    if (handed == 1) {
                        throw new IllegalStateException("fault injected: the first attempt of partition 0 fails after one row");
                    }
                    return rows.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    handed++;
                    return rows.next();
                }
            };
        }
    }
}
