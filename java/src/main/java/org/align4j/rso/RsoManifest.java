package org.align4j.rso;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Locale;
import java.util.Map;
import org.align4j.Align4jException;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.job.RejectsWriter;
import org.align4j.job.RunFingerprint;
import org.align4j.job.RunManifest;
import org.align4j.job.RunSummary;
import org.align4j.engine.SamplingParams;
import org.align4j.reward.Reward;
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

    /**
     * What makes the run ({@link RunFingerprint}): the models (the policy as the reference when there is none),
     * the input and every parameter, the reward's SPEC among them.
     */
    RunFingerprint fingerprint(Reward.Identity reward) {
        ObjectNode params = RunManifest.object();
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
        params.put("keep_candidates", o.keepCandidates() != null); // where: outputs.candidates
        RunFingerprint run = RunFingerprint.of("rso", o.input()).withModel("policy", policy).withAdapters(o.adapters())
                .withModel("reference", reference != null ? reference : policy).withReward(reward);
        for (Map.Entry<String, JsonNode> p : params.properties()) {
            run = run.withParameter(p.getKey(), p.getValue());
        }
        return run.withSampling(o.sampling());
    }

    /** The manifest's fixed part: what makes the run ({@code run}'s models, input and parameters), seeds and engine. */
    ObjectNode head(Path manifestFile, RunFingerprint run) {
        ObjectNode what = run.json();
        ObjectNode m = RunManifest.object();
        m.put("job", "rso");
        m.put("align4j_version", RunManifest.align4jVersion());
        m.set("models", what.get("models"));
        if (reference == null) {
            ((ObjectNode) what.get("models").get("reference")).put("is_policy", true);
        }
        m.set("input", what.get("input"));
        m.set("parameters", what.get("parameters"));
        SamplingParams s = o.sampling();
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
        m.put("started", previous != null ? previous.path("started").asText(now) : now);
        m.put("runs", previous != null ? previous.path("runs").asInt(1) + 1 : 1);
        return m;
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
        RsoTotals totals = new RsoTotals();
        if (Files.exists(acceptanceLog)) {
            try (JsonlReader r = JsonlReader.open(acceptanceLog)) {
                for (JsonlLine line : r) {
                    if (line instanceof JsonlLine.Parsed p) { // else a torn last line of a failed write: the resume point cuts it off
                        totals.add(p.node());
                    }
                }
            }
        }
        totals.putInto(m, countLines(RejectsWriter.pathFor(o.output())), o.pairing().ties());
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
