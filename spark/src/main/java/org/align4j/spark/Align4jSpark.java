package org.align4j.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.max;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Iterator;
import org.align4j.bon.SampleJob;
import org.align4j.data.Jsonl;
import org.align4j.rso.Pairing;
import org.align4j.rso.RsoJob;
import org.align4j.rso.RsoTotals;
import org.align4j.score.ScoreJob;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;

/**
 * align4j's jobs as Spark Datasets: input lines (a JSONL record and its line number) in, the CLI's JSONL
 * records out, computed by the job layer inside {@code mapPartitions} on one model per executor JVM.
 * A record's output depends only on it and the options, and tasks cut their input where the CLI does, so
 * the rows equal the CLI's output to the bit, and a retried task writes the rows its first attempt would have.
 */
public final class Align4jSpark {
    /** 1-based physical line number of the input line, blank lines counted: a record's id when it has no {@code id}. */
    public static final String LINE = "line";
    /** The JSONL text: an input record, an output record, or a reject. */
    public static final String VALUE = "value";
    /** The order of an output record among those of its input line (rso writes several pairs per prompt). */
    public static final String RANK = "rank";
    /** Which of the job's files a row is a line of: {@link #RECORDS}, {@link #REJECTS} or {@link #ACCEPTANCE}. */
    public static final String PART = "part";
    /** The output records ({@code -o}). */
    public static final String RECORDS = "records";
    /** The rejects of {@code --on-error skip} ({@code OUT.rejects.jsonl}). */
    public static final String REJECTS = "rejects";
    /** rso's acceptance log ({@code PAIRS.jsonl.acceptance.jsonl}), one line a prompt. */
    public static final String ACCEPTANCE = "acceptance";
    /** The Spark conf naming the folder of the native libraries on every node (else each JVM's -Dalign4j.native.dir). */
    public static final String NATIVE_DIR_CONF = "spark.align4j.nativeDir";

    public static final StructType INPUT = new StructType()
            .add(LINE, DataTypes.LongType, false)
            .add(VALUE, DataTypes.StringType, false);
    public static final StructType OUTPUT = new StructType()
            .add(LINE, DataTypes.LongType, false)
            .add(RANK, DataTypes.IntegerType, false)
            .add(PART, DataTypes.StringType, false)
            .add(VALUE, DataTypes.StringType, false);

    private static final String SEGMENT = "segment";

    private Align4jSpark() {}

    /** A JSONL file's lines (of {@link #INPUT}), numbered as the CLI numbers them. */
    public static Dataset<Row> readJsonl(SparkSession spark, String path) {
        return numbered(spark, spark.read().text(path));
    }

    /** A table's rows (Parquet, say) as JSON records of {@link #INPUT}, numbered in the order read. */
    public static Dataset<Row> fromTable(Dataset<Row> table) {
        return numbered(table.sparkSession(), table.toJSON().toDF(VALUE));
    }

    private static Dataset<Row> numbered(SparkSession spark, Dataset<Row> text) {
        return spark.createDataFrame(text.javaRDD().zipWithIndex()
                .map(t -> RowFactory.create(t._2() + 1, t._1().getString(0))), INPUT);
    }

    /** {@code align4j sample} on {@code lines}; {@code source} names the input in messages. */
    public static JobRows sample(Dataset<Row> lines, String source, ModelFile model, SampleJob.Options options) {
        return run(lines, source, SparkJob.Sample.of(model, options));
    }

    /** {@code align4j bon} on {@code lines}, with the reward {@code reward} (a SPEC as for the CLI's --reward). */
    public static JobRows bon(Dataset<Row> lines, String source, ModelFile model, String reward, Duration rewardTimeout,
                              SampleJob.Options options) {
        return run(lines, source, SparkJob.Bon.of(model, reward, rewardTimeout, options));
    }

    /**
     * {@code align4j rso} on {@code lines}, with the reward {@code reward} (a SPEC as for the CLI's --reward); a null
     * reference is none. The options' files, resume and quiet are Spark's to decide.
     */
    public static JobRows rso(Dataset<Row> lines, String source, ModelFile policy, ModelFile reference, String reward,
                              RsoJob.Options options) {
        return run(lines, source, SparkJob.Rso.of(policy, reference, reward, options));
    }

    /**
     * The {@code counts} and {@code acceptance} of the manifest the CLI's rso writes, from the acceptance rows of
     * {@code rows} summed in input order (streamed to the driver one partition at a time, never collected).
     */
    public static ObjectNode rsoTotals(JobRows rows, Pairing.TieRule ties) {
        RsoTotals totals = new RsoTotals();
        Iterator<Row> acceptance = rows.acceptance().orderBy(LINE).select(VALUE).toLocalIterator();
        while (acceptance.hasNext()) {
            String line = acceptance.next().getString(0);
            try {
                totals.add(Jsonl.MAPPER.readTree(line));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("an acceptance line that is not JSON: " + line, e);
            }
        }
        ObjectNode manifest = Jsonl.MAPPER.createObjectNode();
        totals.putInto(manifest, rows.rejects().count(), ties);
        return manifest;
    }

    /** {@code align4j score} on {@code lines}; a null reference is none. */
    public static JobRows score(Dataset<Row> lines, String source, ModelFile policy, ModelFile reference, ScoreJob.Options options) {
        return run(lines, source, SparkJob.Score.of(policy, reference, options));
    }

    /**
     * Any job: the lines are shuffled so that each of the CLI's segments is one partition, sorted by line, and each
     * task runs its segment through the job. One segment per task lets Spark hand segments to whichever executor is
     * free, so N executors share the work evenly (hashing segments onto fewer partitions left some executors with
     * twice the segments of others, and some with none), and a retried task redoes one segment. The result is
     * persisted (memory and disk).
     */
    public static JobRows run(Dataset<Row> lines, String source, SparkJob job) {
        SparkSession spark = lines.sparkSession();
        long segmentLines = job.segments().lines();
        Dataset<Row> numbered = lines.withColumn(SEGMENT, floor(col(LINE).minus(1).divide(segmentLines)));
        Row last = lines.agg(max(col(LINE))).first();
        int segments = last.isNullAt(0) ? 1 : Math.toIntExact(Math.ceilDiv(last.getLong(0), segmentLines));
        // A long key's hash is the key itself below 2^31: segment s goes to partition s.
        JavaRDD<Row> bySegment = numbered.javaRDD().keyBy(r -> r.<Long>getAs(SEGMENT)).partitionBy(new HashPartitioner(segments)).values();
        Dataset<Row> tasks = spark.createDataFrame(bySegment, numbered.schema()).sortWithinPartitions(LINE);
        String nativeDir = spark.conf().get(NATIVE_DIR_CONF, null);
        Dataset<Row> out = tasks.mapPartitions(new SegmentRunner(job, source, nativeDir), Encoders.row(OUTPUT));
        return new JobRows(out.persist(StorageLevel.MEMORY_AND_DISK()));
    }

    /**
     * JSONL rows (a {@link #VALUE} column) as the CLI's columns: one per JSON field, its type inferred from the
     * rows (this reads them once).
     */
    public static Dataset<Row> columns(Dataset<Row> jsonl) {
        return jsonl.sparkSession().read().json(jsonl.select(VALUE).as(Encoders.STRING()));
    }
}
