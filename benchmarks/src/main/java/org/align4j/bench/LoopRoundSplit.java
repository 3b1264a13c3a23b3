package org.align4j.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.List;

/**
 * Where one {@code align4j loop} round's time went (RSO pairs, no eval), read from what the round left in
 * its folder: its length from {@code loop.jsonl}; the RSO job's own split from its manifest
 * ({@code last_run}); the other phases from the times its files were created and last written. The round
 * starts as it writes {@code prompts.jsonl}; the DPO job creates its metrics file just before its first
 * step and writes a line after each; its final checkpoint (which the loop deletes) and then the model or
 * adapter follow. Seconds:
 *
 * @param pairs       the round's preference pairs, and {@code steps} its DPO steps, as loop.jsonl says
 * @param seconds     the round, as loop.jsonl says
 * @param sampling    RSO's sampling and rewarding of the candidates
 * @param refScoring  RSO's reference log-probs of the kept completions
 * @param klAndSetup  from RSO's end to DPO's first step: the KL of the samples to the reference (llama.cpp
 *                    scores them), reading the pairs and opening the trainer
 * @param training    DPO's steps, first to last
 * @param export      the final checkpoint and the model (F32) or adapter written
 * @param rest        the remainder: RSO's writing, the DPO plot, the next round's policy loaded (full
 *                    fine-tuning; a LoRA round keeps the base loaded)
 */
record LoopRoundSplit(long pairs, int steps, double seconds, double sampling, double refScoring, double klAndSetup, double training, double export,
                      double rest) {
    /** How many figures {@link #figures()} has. */
    static final int FIGURES = 7;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Round {@code round} of the loop run in {@code dir}; {@code trained} is the file it ends with ({@code model.gguf} or {@code adapter.gguf}). */
    static LoopRoundSplit read(Path dir, int round, String trained) {
        try {
            Path d = dir.resolve("round-" + round);
            JsonNode line = null;
            for (String l : Files.readAllLines(dir.resolve("loop.jsonl"))) {
                JsonNode n = JSON.readTree(l);
                if (n.get("round").asInt() == round) {
                    line = n;
                }
            }
            if (line == null) {
                throw new IllegalStateException(dir.resolve("loop.jsonl") + ": no round " + round);
            }
            double seconds = line.get("seconds").asDouble();
            JsonNode rso = JSON.readTree(d.resolve("pairs.jsonl.manifest.json").toFile()).get("last_run");
            double start = created(d.resolve("prompts.jsonl"));
            double rsoEnd = modified(d.resolve("pairs.jsonl.manifest.json"));
            Path metrics = d.resolve(trained + ".metrics.jsonl");
            double firstStep = created(metrics);
            double lastStep = modified(metrics);
            double exported = modified(d.resolve(trained));
            double sampling = rso.get("sampling_seconds").asDouble() + rso.get("reward_seconds").asDouble();
            double refScoring = rso.get("scoring_seconds").asDouble();
            double klAndSetup = firstStep - rsoEnd, training = lastStep - firstStep, export = exported - lastStep;
            if (rsoEnd < start || klAndSetup < 0 || training <= 0 || export < 0) {
                throw new IllegalStateException(d + ": its files' times are out of order (a file system without creation times?)");
            }
            double rest = seconds - (sampling + refScoring + klAndSetup + training + export);
            return new LoopRoundSplit(line.get("pairs").asLong(), line.get("dpo/steps").asInt(), seconds, sampling, refScoring, klAndSetup, training, export, rest);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The figures in this record's order, for tables. */
    List<Double> figures() {
        return List.of(seconds, sampling, refScoring, klAndSetup, training, export, rest);
    }

    private static double created(Path file) throws IOException {
        return seconds(Files.readAttributes(file, BasicFileAttributes.class).creationTime());
    }

    private static double modified(Path file) throws IOException {
        return seconds(Files.getLastModifiedTime(file));
    }

    private static double seconds(FileTime t) {
        return t.toInstant().getEpochSecond() + t.toInstant().getNano() / 1e9;
    }
}
