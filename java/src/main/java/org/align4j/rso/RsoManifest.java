package org.align4j.rso;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.align4j.Align4jException;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.job.RejectsWriter;
import org.align4j.job.RunManifest;
import org.align4j.job.RunSummary;
import org.align4j.engine.SamplingParams;
import org.align4j.rso.RsoTimings.Stage;

/**
 * The manifest of an {@code align4j rso} output ({@code PAIRS.jsonl.manifest.json}, see {@link RunManifest}):
 * what makes the run (models and their sha256, input, parameters, seeds, engine), checked on
 * {@code --resume}; and, at the end, the status, the totals over every run of the output (from its
 * acceptance log), this run's figures and the per-prompt acceptance lines.
 */
final class RsoManifest {
    private final RsoJob.Options o;
    private final Path policy;
    private final Path reference; // null: the policy is the reference

    RsoManifest(RsoJob.Options options, Path policy, Path reference) {
        this.o = options;
        this.policy = policy;
        this.reference = reference;
    }

    /** The manifest's fixed part: what makes the run. On --resume, checks that it is the run being continued. */
    ObjectNode head(Path manifestFile) {
        ObjectNode m = RunManifest.object();
        m.put("job", "rso");
        m.put("align4j_version", RunManifest.align4jVersion());
        ObjectNode models = m.putObject("models");
        ObjectNode policyFile = RunManifest.describeFile(policy);
        models.set("policy", policyFile);
        if (reference == null) {
            ObjectNode ref = policyFile.deepCopy();
            ref.put("is_policy", true);
            models.set("reference", ref);
        } else {
            models.set("reference", RunManifest.describeFile(reference));
        }
        m.set("input", RunManifest.describeFile(o.input()));
        ObjectNode params = m.putObject("parameters");
        params.put("mode", o.selector().mode().cliName());
        if (o.selector().mode() == SelectionMode.RSO) {
            params.put("beta", o.selector().beta());
        } else {
            params.putNull("beta");
        }
        params.put("candidates", o.candidates());
        params.put("accept", o.accept());
        params.put("pairing", o.pairing().scheme().cliName());
        params.put("ties", o.pairing().ties().cliName());
        params.put("reward", o.reward());
        SamplingParams s = o.sampling();
        ObjectNode sampling = params.putObject("sampling");
        sampling.put("temperature", s.temperature());
        sampling.put("top_k", s.topK());
        sampling.put("top_p", s.topP());
        sampling.put("min_p", s.minP());
        sampling.put("repeat_penalty", s.repeatPenalty());
        sampling.put("repeat_last_n", s.repeatLastN());
        sampling.put("max_tokens", s.maxTokens());
        ArrayNode stops = sampling.putArray("stop");
        s.stops().forEach(stops::add);
        sampling.put("seed", s.seed());
        sampling.put("ignore_eos", s.ignoreEos());
        params.put("keep_candidates", o.keepCandidates() != null); // where: outputs.candidates
        ObjectNode seeds = m.putObject("seeds");
        seeds.put("seed", s.seed());
        seeds.put("candidates", "candidate k of the prompt with id ID draws its tokens from java.util.SplittableRandom(keySeed(seed, ID, k)):"
                + " SplitMix64 over the seed, FNV-1a of ID's JSON text and k");
        seeds.put("acceptance", "the acceptance draws of the prompt with id ID come from java.util.SplittableRandom(keySeed(seed, ID, "
                + RsoJob.ACCEPTANCE_STREAM + ")); per_prompt[].acceptance_seed is that seed");
        // Not part of what the run produces: may differ between a run and its --resume.
        ObjectNode engine = m.putObject("engine");
        engine.put("ctx", o.engine().maxSeqLen());
        engine.put("batch_tokens", o.engine().batchTokens());
        engine.put("seqs", o.engine().maxSeqs());
        engine.put("threads", o.engine().threads());
        engine.put("flash_attn", o.engine().flashAttention());
        engine.put("gpu_layers", o.gpuLayers());
        engine.put("on_error", o.onError().toString());
        engine.put("reward_timeout_seconds", o.rewardTimeout().toMillis() / 1000.0);
        ObjectNode outputs = m.putObject("outputs");
        outputs.put("pairs", o.output().toAbsolutePath().normalize().toString());
        outputs.put("acceptance_log", RsoJob.acceptanceLogPath(o.output()).toAbsolutePath().normalize().toString());
        outputs.put("rejects", RejectsWriter.pathFor(o.output()).toAbsolutePath().normalize().toString());
        if (o.keepCandidates() != null) {
            outputs.put("candidates", o.keepCandidates().toAbsolutePath().normalize().toString());
        }
        String now = Instant.now().toString();
        ObjectNode previous = o.resume() ? RunManifest.read(manifestFile) : null;
        if (previous != null) {
            checkSameRun(manifestFile, previous, m);
            m.put("started", previous.path("started").asText(now));
            m.put("runs", previous.path("runs").asInt(1) + 1);
        } else {
            if (o.resume() && Files.exists(o.output())) {
                throw new Align4jException(manifestFile + " is missing, so what made " + o.output()
                        + " is unknown: not resuming");
            }
            m.put("started", now);
            m.put("runs", 1);
        }
        return m;
    }

    /**
     * A --resume must continue the same run: the same models (by content: a model may have moved) and
     * parameters; the engine's options and the error policy may differ.
     */
    private static void checkSameRun(Path manifestFile, ObjectNode previous, ObjectNode current) {
        List<String> diffs = new ArrayList<>();
        for (String model : List.of("policy", "reference")) {
            String path = "models." + model + ".sha256";
            diffs.add(firstDifference(path, previous.path("models").path(model).path("sha256"),
                    current.get("models").get(model).get("sha256")));
        }
        diffs.add(firstDifference("parameters", previous.path("parameters"), current.get("parameters")));
        for (String diff : diffs) {
            if (diff != null) {
                throw new Align4jException("--resume continues the run in " + manifestFile + ", but " + diff
                        + ": run with the same models and options, or start a new output");
            }
        }
    }

    /** Where two manifest sections differ, by path ({@code parameters.sampling.temperature was 0.7, now 1.0}), or null. */
    private static String firstDifference(String path, JsonNode was, JsonNode now) {
        if (was.isObject() && now.isObject()) {
            for (Map.Entry<String, JsonNode> f : now.properties()) {
                String d = firstDifference(path + "." + f.getKey(), was.path(f.getKey()), f.getValue());
                if (d != null) {
                    return d;
                }
            }
            return null;
        }
        // By JSON text: a number read back from the file is a BigDecimal, one just made a float or a long.
        String a = was.isMissingNode() ? "absent" : was.toString();
        String b = now.toString();
        return a.equals(b) ? null : path + " was " + a + ", now " + b;
    }

    /** The manifest with status, totals over every run of this output (from the acceptance log), this run's timings, and per-prompt figures. */
    void finish(Path manifestFile, ObjectNode m, Path acceptanceLog, RunSummary summary, RsoTimings timings, RuntimeException failure) {
        m.put("status", failure == null ? "complete" : "failed");
        if (failure != null) {
            m.put("error", String.valueOf(failure.getMessage()));
        } else {
            m.remove("error");
        }
        m.put("finished", Instant.now().toString());
        long prompts = 0;
        long candidates = 0;
        long accepted = 0;
        long hits = 0;
        long passes = 0;
        long games = 0;
        long ties = 0;
        long pairs = 0;
        long droppedEmpty = 0;
        long droppedIdentical = 0;
        long tokens = 0;
        double expectedSum = 0;
        double observedSum = 0;
        if (Files.exists(acceptanceLog)) {
            try (JsonlReader r = JsonlReader.open(acceptanceLog)) {
                for (JsonlLine line : r) {
                    if (!(line instanceof JsonlLine.Parsed p)) {
                        continue; // a torn last line of a failed write: the resume point cuts it off
                    }
                    JsonNode n = p.node();
                    prompts++;
                    candidates += n.path("candidates").asLong();
                    accepted += n.path("accepted").size();
                    hits += n.path("first_pass_hits").asLong();
                    passes += n.path("passes").asLong();
                    games += n.path("games").asLong();
                    ties += n.path("ties").asLong();
                    pairs += n.path("pairs").asLong();
                    droppedEmpty += n.path("dropped_empty").asLong();
                    droppedIdentical += n.path("dropped_identical").asLong();
                    tokens += n.path("generated_tokens").asLong();
                    expectedSum += n.path("expected_rate").asDouble();
                    observedSum += n.path("observed_rate").asDouble();
                }
            }
        }
        ObjectNode counts = m.putObject("counts");
        counts.put("prompts", prompts);
        counts.put("skipped", countLines(RejectsWriter.pathFor(o.output())));
        counts.put("candidates", candidates);
        counts.put("accepted", accepted);
        counts.put("first_pass_hits", hits);
        counts.put("games", games);
        counts.put("ties", ties);
        counts.put("ties_in_pairs", o.pairing().ties() == Pairing.TieRule.KEEP ? ties : 0);
        counts.put("dropped_empty", droppedEmpty);
        counts.put("dropped_identical", droppedIdentical);
        counts.put("pairs", pairs);
        counts.put("generated_tokens", tokens);
        ObjectNode rates = m.putObject("acceptance");
        if (prompts > 0) {
            rates.put("observed_rate", (double) hits / candidates);
            rates.put("mean_observed_rate", observedSum / prompts);
            rates.put("expected_rate", expectedSum / prompts);
            rates.put("mean_passes", (double) passes / prompts);
        } else {
            for (String f : List.of("observed_rate", "mean_observed_rate", "expected_rate", "mean_passes")) {
                rates.putNull(f);
            }
        }
        rates.put("note", "observed_rate: first-pass hits over candidates, pooled over prompts; expected_rate: the mean over prompts"
                + " of E[exp((r - r_max) / beta)] (Theorem 1) on each prompt's own rewards");
        ObjectNode run = m.putObject("last_run");
        if (summary != null) {
            double wall = summary.wallSeconds();
            run.put("prompts", summary.records());
            run.put("skipped", summary.skipped());
            run.put("generated_tokens", summary.tokens());
            run.put("wall_seconds", wall);
            run.put("prompts_per_second", wall > 0 ? summary.records() / wall : 0);
            run.put("generated_tokens_per_second", summary.tokensPerSecond());
        }
        for (Stage s : Stage.values()) {
            run.put(s.name().toLowerCase(Locale.ROOT) + "_seconds", timings.seconds(s));
        }
        RunManifest.write(manifestFile, m, "per_prompt", acceptanceLog);
    }

    private static long countLines(Path file) {
        return Files.exists(file) ? JsonlReader.countNonBlankLines(file) : 0;
    }
}
