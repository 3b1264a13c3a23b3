package org.align4j.spark;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import org.align4j.Align4jException;
import org.align4j.cli.JobArguments;
import org.align4j.data.Jsonl;
import org.align4j.job.RejectsWriter;
import org.align4j.job.RunManifest;
import org.align4j.rso.RsoJob;
import java.nio.file.Path;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine;

/**
 * The {@code spark-submit} entry point: {@code sample}, {@code bon}, {@code rso} or {@code score} with the CLI's options
 * ({@link JobArguments}), reading {@code -i} (JSONL, or Parquet when it ends in {@code .parquet}) and writing
 * {@code -o} (a Spark output folder: Parquet with the CLI's columns when it ends in {@code .parquet}, else JSONL
 * text in input order), and the rejects of {@code --on-error skip} beside it as JSONL; rso also its acceptance log
 * and a manifest with the CLI's totals. Exit 0, 1 on a failure
 * (its message names the file and line), 2 on a usage error; only {@link #main} exits.
 */
public final class SparkMain {
    private SparkMain() {}

    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().appName("align4j " + String.join(" ", args)).getOrCreate();
        int status;
        try {
            status = run(spark, System.err, args);
        } finally {
            spark.stop();
        }
        System.exit(status);
    }

    /** Runs the job of {@code args} on {@code spark}; returns the exit status, having said why on {@code err}. */
    public static int run(SparkSession spark, PrintStream err, String... args) {
        JobArguments.Job job;
        try {
            job = JobArguments.parse(args);
        } catch (CommandLine.ParameterException e) {
            err.println("align4j-spark: " + e.getMessage());
            return 2;
        }
        if (job instanceof JobArguments.Rso r && r.options().keepCandidates() != null) {
            err.println("align4j-spark: --keep-candidates is the CLI's only: on Spark, rso writes the pairs, the acceptance log"
                    + " and the manifest's totals");
            return 2;
        }
        try {
            if (!exists(spark, job.input())) {
                err.println("align4j-spark: " + job.input() + ": no such file");
                return 1;
            }
            if (exists(spark, job.output())) { // checked before the job runs, not when its rows are written
                err.println("align4j-spark: " + job.output() + ": exists already; give a new output folder");
                return 1;
            }
            Dataset<Row> lines = isParquet(job.input()) ? Align4jSpark.fromTable(spark.read().parquet(job.input()))
                    : Align4jSpark.readJsonl(spark, job.input());
            JobRows rows = switch (job) {
                case JobArguments.Sample s -> Align4jSpark.sample(lines, s.input(), modelFile(s.model(), s.gpuLayers()), s.options());
                case JobArguments.Bon b -> Align4jSpark.bon(lines, b.input(), modelFile(b.model(), b.gpuLayers()), b.reward(),
                        b.rewardTimeout(), b.options());
                case JobArguments.Rso r -> Align4jSpark.rso(lines, r.input(), modelFile(r.policy(), r.gpuLayers()),
                        r.reference() == null ? null : modelFile(r.reference(), r.gpuLayers()), r.reward(), r.options());
                case JobArguments.Score s -> Align4jSpark.score(lines, s.input(), modelFile(s.policy(), s.gpuLayers()),
                        s.reference() == null ? null : modelFile(s.reference(), s.gpuLayers()), s.options());
            };
            Dataset<Row> records = rows.records().orderBy(Align4jSpark.LINE, Align4jSpark.RANK);
            if (isParquet(job.output())) {
                Align4jSpark.columns(records).write().mode(SaveMode.ErrorIfExists).parquet(job.output());
            } else {
                records.select(Align4jSpark.VALUE).write().mode(SaveMode.ErrorIfExists).text(job.output());
            }
            Dataset<Row> rejects = rows.rejects();
            long rejected = rejects.count();
            if (rejected > 0) {
                String rejectsPath = RejectsWriter.pathFor(Path.of(job.output())).toString();
                rejects.orderBy(Align4jSpark.LINE).select(Align4jSpark.VALUE).write().mode(SaveMode.ErrorIfExists).text(rejectsPath);
                err.println("align4j-spark: " + rejected + " rejected line(s) in " + rejectsPath);
            }
            if (job instanceof JobArguments.Rso r) {
                writeRsoTotals(spark, rows, r, err);
            }
            err.println("align4j-spark: " + records.count() + " record(s) in " + job.output());
            return 0;
        } catch (Exception e) { // Scala's AnalysisException is checked in Java's terms, though no signature says so
            if (e instanceof AnalysisException) { // an input not of its format
                err.println("align4j-spark: " + e.getMessage());
                return 1;
            }
            Align4jException cause = align4jCause(e);
            if (cause == null) {
                throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
            err.println("align4j-spark: " + cause.getMessage());
            return 1;
        }
    }

    /**
     * rso's acceptance log (a folder of that name, in input order) and its manifest's {@code counts} and
     * {@code acceptance}, summed over every task as the CLI sums its file ({@code PAIRS.jsonl.manifest.json}).
     */
    private static void writeRsoTotals(SparkSession spark, JobRows rows, JobArguments.Rso job, PrintStream err) throws IOException {
        Path output = Path.of(job.output());
        rows.acceptance().orderBy(Align4jSpark.LINE).select(Align4jSpark.VALUE).write().mode(SaveMode.ErrorIfExists)
                .text(RsoJob.acceptanceLogPath(output).toString());
        ObjectNode manifest = Jsonl.MAPPER.createObjectNode().put("job", "rso").put("status", "complete");
        manifest.setAll(Align4jSpark.rsoTotals(rows, job.options().pairing().ties()));
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(RunManifest.pathFor(output).toString());
        try (OutputStream out = file.getFileSystem(spark.sparkContext().hadoopConfiguration()).create(file, false)) {
            out.write(Jsonl.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(manifest));
        }
        err.println("align4j-spark: acceptance in " + RsoJob.acceptanceLogPath(output) + ", totals in " + file);
    }

    private static ModelFile modelFile(Path model, int gpuLayers) {
        return new ModelFile(model.toString(), gpuLayers);
    }

    /** Whether {@code path} exists on its file system (local, HDFS, an object store). */
    private static boolean exists(SparkSession spark, String path) throws IOException {
        org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(path);
        return p.getFileSystem(spark.sparkContext().hadoopConfiguration()).exists(p);
    }

    private static boolean isParquet(String path) {
        return path.endsWith(".parquet");
    }

    /** The failure an executor reported, under Spark's wrapping; null if it is not one of align4j's. */
    private static Align4jException align4jCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof Align4jException a) {
                return a;
            }
        }
        return null;
    }
}
