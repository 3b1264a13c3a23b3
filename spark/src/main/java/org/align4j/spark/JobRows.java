package org.align4j.spark;

import static org.apache.spark.sql.functions.col;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What a job wrote, as rows of {@link Align4jSpark#OUTPUT}: the output records, the rejects (under
 * {@code --on-error skip}) and rso's acceptance log, each with the input line it came from. Both views read one persisted Dataset,
 * so the engine runs once for the two.
 */
public record JobRows(Dataset<Row> all) {
    /** The output records, each the CLI's JSONL line in {@code value}; ordered by (line, rank) they are the CLI's file. */
    public Dataset<Row> records() {
        return part(Align4jSpark.RECORDS);
    }

    /** The rejected lines, each the CLI's {@code OUT.rejects.jsonl} line in {@code value}. */
    public Dataset<Row> rejects() {
        return part(Align4jSpark.REJECTS);
    }

    /** rso's acceptance log, each line the CLI's {@code PAIRS.jsonl.acceptance.jsonl} line in {@code value}; empty for other jobs. */
    public Dataset<Row> acceptance() {
        return part(Align4jSpark.ACCEPTANCE);
    }

    private Dataset<Row> part(String name) {
        return all.filter(col(Align4jSpark.PART).equalTo(name)).drop(Align4jSpark.PART);
    }
}
