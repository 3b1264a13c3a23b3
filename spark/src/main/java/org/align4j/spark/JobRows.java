package org.align4j.spark;

import static org.apache.spark.sql.functions.col;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * What a job wrote, as rows of {@link Align4jSpark#OUTPUT}: the output records and the rejects (under
 * {@code --on-error skip}), each with the input line it came from. Both views read one persisted Dataset,
 * so the engine runs once for the two.
 */
public record JobRows(Dataset<Row> all) {
    /** The output records, each the CLI's JSONL line in {@code value}; ordered by (line, rank) they are the CLI's file. */
    public Dataset<Row> records() {
        return all.filter(col(Align4jSpark.REJECTED).equalTo(false)).drop(Align4jSpark.REJECTED);
    }

    /** The rejected lines, each the CLI's {@code OUT.rejects.jsonl} line in {@code value}. */
    public Dataset<Row> rejects() {
        return all.filter(col(Align4jSpark.REJECTED).equalTo(true)).drop(Align4jSpark.REJECTED);
    }
}
