package org.align4j.rso;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import org.align4j.Align4jException;
import org.align4j.IoMessages;
import org.align4j.engine.ScorerOptions;
import org.align4j.job.SampleOutput;
import org.align4j.job.RewardStage;
import org.align4j.job.ScorerPair;
import org.align4j.job.InputOrder;
import org.align4j.job.InputSegments;
import org.align4j.data.BadRecordException;
import org.align4j.data.ChatRenderer;
import org.align4j.job.ErrorPolicy;
import org.align4j.data.JsonlLine;
import org.align4j.data.JsonlReader;
import org.align4j.data.JsonlWriter;
import org.align4j.engine.LlamaChatRenderer;
import org.align4j.data.PreferenceRecord;
import org.align4j.job.ProgressReporter;
import org.align4j.data.PromptRecord;
import org.align4j.job.RecordLoop;
import org.align4j.job.RejectsWriter;
import org.align4j.job.ResumePoint;
import org.align4j.job.ResumeState;
import org.align4j.job.OutputLock;
import org.align4j.job.RunFingerprint;
import org.align4j.job.RunManifest;
import org.align4j.job.RunSummary;
import org.align4j.engine.TokenizedRecord;
import org.align4j.engine.Adapters;
import org.align4j.engine.ContinuousBatchSampler;
import org.align4j.engine.SampleRequest;
import org.align4j.engine.SampleResult;
import org.align4j.engine.SamplerOptions;
import org.align4j.engine.SamplingParams;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.VocabCompatibility;
import org.align4j.llama.Model;
import org.align4j.llama.Vocab;
import org.align4j.reward.Reward;
import org.align4j.reward.RewardProtocolException;
import org.align4j.reward.RewardScores;
import org.align4j.rso.RsoTimings.Stage;

/**
 * {@code align4j rso}: offline RSO preference data (Liu et al. 2023, Algorithm 1). For each prompt record,
 * in input order: N candidates sampled from the SFT policy ({@link ContinuousBatchSampler}), rewarded
 * ({@link Reward}), k of them kept ({@link RejectionSampler}), paired ({@link Pairing}), and the pair
 * records scored by teacher forcing under the policy and the reference ({@link PrefixSharingScorer} over
 * {@link TokenizedRecord}, so the four log-prob columns are what {@code align4j score} computes for the
 * written records). The data flows one way: reader, sampler, reward, selection and pairing, scorers,
 * writers; each prompt's group of records is written and committed ({@link ResumePoint}) before the next
 * prompt's, so memory does not grow with the input and {@code --resume} neither loses nor repeats a prompt.
 *
 * <p>Files, for {@code -o PAIRS.jsonl}: the pair records; {@code PAIRS.jsonl.acceptance.jsonl}, one line per
 * prompt with its acceptance figures; {@code PAIRS.rejects.jsonl} under {@code --on-error skip};
 * {@code --keep-candidates FILE}, one line per prompt with every candidate; {@code PAIRS.jsonl.resume.json},
 * the resume point; and {@code PAIRS.jsonl.manifest.json}, written at the start (status {@code running}) and
 * again at the end ({@code complete} or {@code failed}) with the totals over every run of the output.
 *
 * <p>Randomness: candidate k of the prompt with id ID draws its tokens from a {@link SplittableRandom}
 * seeded with {@link SamplingParams#keySeed}(ID, k) and the acceptance draws of that prompt come from one
 * seeded with {@link SamplingParams#keySeed}(ID, {@value #ACCEPTANCE_STREAM}), both derived from {@code --seed}; so a prompt's pairs depend on nothing else in the run, and a resumed run
 * writes what the uninterrupted one would have.
 *
 * <p>Pairs a dataset cannot hold are dropped and counted: one whose chosen or rejected text is empty
 * ({@code score} and {@code dpo} refuse empty completions), and one whose two texts are equal (no
 * preference to learn; {@code dpo} refuses it).
 */
public final class RsoJob {
    /** The {@link SamplingParams#keySeed} stream of a prompt's acceptance draws; candidates use 0..N-1. */
    public static final long ACCEPTANCE_STREAM = -1;

    /**
     * @param keepCandidates where to write every candidate with its reward and acceptance, or null
     * @param rewardTimeout  its {@code cmd:} timeout (for the manifest)
     * @param candidates     N, candidates sampled per prompt
     * @param accept         k, candidates kept per prompt: 2 <= k <= N
     * @param engine         the sampler's capacity; the scorers use the same batch, sequences and threads
     * @param gpuLayers      layers the models were loaded with on a GPU (for the manifest)
     * @param sampling       how candidates are drawn, and the run's seed
     * @param adapters       LoRA adapters applied to the policy (sampling and its scores); with any and no
     *                       reference model, the reference is the policy's base (the adapters off)
     */
    public record Options(Path input, Path output, Path keepCandidates,
                          Duration rewardTimeout, int candidates, int accept, RejectionSampler selector, Pairing pairing,
                          ErrorPolicy onError, boolean resume, boolean quiet, int gpuLayers, SamplerOptions engine,
                          SamplingParams sampling, Adapters adapters) {
        public Options {
            if (candidates < 1) {
                throw new IllegalArgumentException("--candidates must be positive, not " + candidates);
            }
            if (accept < 2 || accept > candidates) {
                throw new IllegalArgumentException("--accept must be at least 2 (a pair) and at most --candidates "
                        + candidates + ", not " + accept);
            }
        }

        /**
         * The scorers' capacity: a pair record's completion is the sampled text tokenized again, which can
         * take more tokens than were sampled (a length-cut byte sequence becomes U+FFFD), plus EOS; room for
         * twice the sampled length.
         */
        ScorerOptions scorer() {
            return engine.scorer(engine.maxSeqLen() + sampling.maxTokens() + 1);
        }

        public Options withFiles(Path input, Path output, Path keepCandidates) {
            return new Options(input, output, keepCandidates, rewardTimeout, candidates, accept, selector, pairing, onError,
                    resume, quiet, gpuLayers, engine, sampling, adapters);
        }

        public Options withSampling(SamplingParams sampling) {
            return new Options(input, output, keepCandidates, rewardTimeout, candidates, accept, selector, pairing, onError,
                    resume, quiet, gpuLayers, engine, sampling, adapters);
        }

        public Options withAdapters(Adapters adapters) {
            return new Options(input, output, keepCandidates, rewardTimeout, candidates, accept, selector, pairing, onError,
                    resume, quiet, gpuLayers, engine, sampling, adapters);
        }

        public Options withResume(boolean resume) {
            return new Options(input, output, keepCandidates, rewardTimeout, candidates, accept, selector, pairing, onError,
                    resume, quiet, gpuLayers, engine, sampling, adapters);
        }

        public Options withQuiet(boolean quiet) {
            return new Options(input, output, keepCandidates, rewardTimeout, candidates, accept, selector, pairing, onError,
                    resume, quiet, gpuLayers, engine, sampling, adapters);
        }
    }

    /**
     * What a run did.
     *
     * @param prompts            prompts written this run (their pairs and acceptance lines)
     * @param pairs              pairs written this run
     * @param ties               games between equal rewards this run
     * @param observedRate       first-pass acceptance rate pooled over this run's candidates
     * @param expectedRate       mean over this run's prompts of Theorem 1's expected rate
     * @param manifest           {@code PAIRS.jsonl.manifest.json}
     */
    public record Result(RunSummary summary, RsoTimings timings, long prompts, long pairs, long ties, double observedRate,
                         double expectedRate, Path output, Path acceptanceLog, Path keepCandidates, Path manifest) {
        /**
         * The pairs and acceptance in one line: {@code rso: 96 pairs from 12 prompts (3 ties skipped);
         * acceptance 0.312 observed, 0.305 expected (Theorem 1)}.
         */
        public String outcome(Pairing.TieRule ties) {
            if (prompts == 0) {
                return "rso: no prompts in this run";
            }
            return String.format(Locale.ROOT, "rso: %d pairs from %d prompts (%d ties %s); acceptance %.3f observed, %.3f expected (Theorem 1)",
                    pairs, prompts, this.ties, ties == Pairing.TieRule.SKIP ? "skipped" : "kept", observedRate, expectedRate);
        }
    }

    private final Options o;
    private final RsoTimings timings = new RsoTimings();
    private final AcceptanceTally tally = new AcceptanceTally();
    private ProgressReporter progress; // this run's prompts, skips and tokens; null until the models are loaded
    private long pairsWritten;
    private long tiesThisRun;

    private RsoJob(Options options) {
        this.o = options;
    }

    /**
     * Where the engines restart ({@link InputSegments}): the sampler's, counting N candidates a prompt. The scorers
     * restart there too, so a prompt's pairs depend only on its segment, and a resumed run's are the uninterrupted one's.
     */
    public static InputSegments segments(Options o) {
        return InputSegments.forSampler(o.engine().maxSeqs(), o.candidates());
    }

    /** {@code pairs.jsonl} -> {@code pairs.jsonl.acceptance.jsonl}: one line of acceptance figures per prompt. */
    public static Path acceptanceLogPath(Path output) {
        return output.resolveSibling(output.getFileName() + ".acceptance.jsonl");
    }

    /** A prompt record on its way through, from when it is read until its group is written. */
    private static final class Entry {
        final PromptRecord record;
        final SampleRequest request;
        final InputOrder<Entry>.Slot slot;
        // After sampling, reward, selection and pairing:
        SampleResult sampled;
        double[] rewards;
        RewardScores rewardScores;          // the rewards with their parts, to write
        Selection selection;
        double expectedRate;
        long acceptanceSeed;
        Pairing.Result pairing;
        List<Pairing.Pair> pairs;           // the pairs written: pairing's, less the dropped ones
        int droppedEmpty;
        int droppedIdentical;
        TokenizedRecord[] tokens;           // (pairs,) each pair record tokenized
        Map<Integer, Integer> scoredIndex;  // candidate -> its completion in the score request
        ScoreResult policyScores;
        ScoreResult referenceScores;        // null: the policy is the reference

        Entry(PromptRecord record, SampleRequest request, InputOrder<Entry>.Slot slot) {
            this.record = record;
            this.request = request;
            this.slot = slot;
        }

        ScoreResult reference() {
            return referenceScores != null ? referenceScores : policyScores;
        }
    }

    /** What one run holds open; as the pipeline's sink it writes each prompt's group and commits it. */
    private final class Run implements InputOrder.Sink<Entry> {
        final ContinuousBatchSampler sampler;
        final ScorerPair scorers;
        final RewardStage reward;
        final Vocab vocab;
        final ChatRenderer renderer;
        final JsonlWriter pairs;
        final JsonlWriter acceptance;
        final JsonlWriter candidates; // null without --keep-candidates
        final RejectsWriter rejects;
        final ResumePoint point;
        final InputOrder<Entry> order;

        Run(ContinuousBatchSampler sampler, ScorerPair scorers, RewardStage reward, Vocab vocab, ChatRenderer renderer,
            JsonlWriter pairs, JsonlWriter acceptance, JsonlWriter candidates, RejectsWriter rejects, ResumePoint point) {
            this.sampler = sampler;
            this.scorers = scorers;
            this.reward = reward;
            this.vocab = vocab;
            this.renderer = renderer;
            this.pairs = pairs;
            this.acceptance = acceptance;
            this.candidates = candidates;
            this.rejects = rejects;
            this.point = point;
            this.order = new InputOrder<>(4 * o.engine().maxSeqs() + 16, segments(o), o.onError(), this::finishWork, this);
        }

        /**
         * Reads every line after the resume point (replaying the finished part of its segment) and finishes the
         * work; under FAIL, throws the first bad record.
         */
        void read(JsonlReader reader) {
            RecordLoop.run(reader, ResumeState.afterLine(point.linesDone()), segments(o), o.onError(), PromptRecord::of,
                    this::submit, order::finish, order::reject);
            order.finish();
        }

        @Override
        public boolean writtenBefore(JsonlLine line) {
            return line.lineNumber() <= point.linesDone();
        }

        /** A prompt record read: queued in input order and handed to the sampler. */
        void submit(PromptRecord record) {
            SampleRequest request = SampleRequest.of(record, o.candidates(), vocab, renderer);
            String misfit = sampler.checkFits(request);
            if (misfit != null) {
                throw new BadRecordException(record.file(), record.lineNumber(), misfit);
            }
            Entry e = new Entry(record, request, order.admit(record.line()));
            try (RsoTimings.Span s = timings.enter(Stage.SAMPLING)) {
                sampler.submit(request, r -> sampled(e, r));
            }
        }

        /** Samples, rewards and scores everything queued. */
        void finishWork() {
            try (RsoTimings.Span s = timings.enter(Stage.SAMPLING)) {
                sampler.finish();
            }
            finishScoring();
        }

        /** Scores what is sampled (after a runtime failure, what was sampled before it; the sampler is left as it is). */
        void finishScoring() {
            try (RsoTimings.Span s = timings.enter(Stage.SCORING)) {
                scorers.finish();
            }
        }

        /** A prompt's candidates are in (on the job's thread, in input order): reward, select, pair, submit for scoring. */
        void sampled(Entry e, SampleResult result) {
            if (order.halt() != null) {
                return; // FAIL: a record before this one was bad; nothing from it on is written
            }
            e.sampled = result;
            try {
                try (RsoTimings.Span s = timings.enter(Stage.REWARD)) {
                    e.rewardScores = reward.score(e.record, result);
                    e.rewards = e.rewardScores.rewards();
                }
                select(e);
                try (RsoTimings.Span s = timings.enter(Stage.SCORING)) {
                    submitPairs(e);
                }
            } catch (BadRecordException ex) {
                e.slot.refuse(ex);
            }
        }

        void select(Entry e) {
            e.acceptanceSeed = o.sampling().keySeed(e.request.key(), ACCEPTANCE_STREAM);
            e.selection = o.selector().select(e.rewards, o.accept(), new SplittableRandom(e.acceptanceSeed));
            e.expectedRate = o.selector().expectedAcceptanceRate(e.rewards);
            e.pairing = o.pairing().pair(e.selection.accepted(), e.rewards);
            e.pairs = new ArrayList<>();
            for (Pairing.Pair p : e.pairing.pairs()) {
                String chosen = text(e, p.chosen());
                String rejected = text(e, p.rejected());
                if (chosen.isEmpty() || rejected.isEmpty()) {
                    e.droppedEmpty++;
                } else if (chosen.equals(rejected)) {
                    e.droppedIdentical++;
                } else {
                    e.pairs.add(p);
                }
            }
        }

        /**
         * Tokenizes the pair records by the shared rule and queues one request on the scorers: the prompt once,
         * each kept candidate once. A prompt without pairs is done.
         */
        void submitPairs(Entry e) {
            e.tokens = new TokenizedRecord[e.pairs.size()];
            e.scoredIndex = new LinkedHashMap<>();
            List<int[]> completions = new ArrayList<>();
            int[] prompt = null;
            for (int k = 0; k < e.pairs.size(); k++) {
                Pairing.Pair p = e.pairs.get(k);
                ObjectNode node = RunManifest.object();
                node.set("id", pairId(e, k));
                node.set("prompt", e.record.node().get("prompt"));
                node.set("chosen", completionValue(e, p.chosen()));
                node.set("rejected", completionValue(e, p.rejected()));
                PreferenceRecord pair = PreferenceRecord.of(new JsonlLine.Parsed(e.record.file(), e.record.lineNumber(), node));
                TokenizedRecord t = TokenizedRecord.of(pair, vocab, renderer);
                if (prompt == null) {
                    prompt = t.prompt();
                } else if (!Arrays.equals(prompt, t.prompt())) {
                    throw new IllegalStateException("the pair records of one prompt tokenized to different prompts");
                }
                e.tokens[k] = t;
                int[] cands = {p.chosen(), p.rejected()};
                for (int j = 0; j < 2; j++) {
                    if (e.scoredIndex.putIfAbsent(cands[j], completions.size()) == null) {
                        completions.add(t.completions()[j]);
                    }
                }
            }
            if (prompt == null) {
                e.slot.complete(e); // no pairs: nothing to score
                return;
            }
            ScoreRequest request = new ScoreRequest(e.record.id().toString(), prompt, completions.toArray(int[][]::new));
            String misfit = scorers.checkFits(request);
            if (misfit != null) {
                throw new BadRecordException(e.record.file(), e.record.lineNumber(), "a pair record's " + misfit);
            }
            scorers.submit(request, (policy, reference) -> {
                e.policyScores = policy;
                e.referenceScores = reference;
                e.slot.complete(e);
            });
        }

        @Override
        public void write(JsonlLine line, Entry e) {
            try (RsoTimings.Span s = timings.enter(Stage.WRITING)) {
                for (int k = 0; k < e.pairs.size(); k++) {
                    pairs.write(pairRecord(e, k));
                }
                if (candidates != null) {
                    candidates.write(candidatesRecord(e));
                }
                acceptance.write(acceptanceRecord(e));
                tally.add(e.selection, e.expectedRate);
                pairsWritten += e.pairs.size();
                tiesThisRun += e.pairing.ties();
                progress.recordDone(e.sampled.generatedTokens());
                point.commit(line.lineNumber());
            }
        }

        @Override
        public void reject(JsonlLine line, BadRecordException why) {
            try (RsoTimings.Span s = timings.enter(Stage.WRITING)) {
                rejects.reject(line, why);
                progress.recordSkipped();
                point.commit(line.lineNumber());
            }
        }

        ObjectNode pairRecord(Entry e, int k) {
            Pairing.Pair p = e.pairs.get(k);
            ScoreResult ref = e.reference();
            int c = e.scoredIndex.get(p.chosen());
            int r = e.scoredIndex.get(p.rejected());
            ObjectNode out = RunManifest.object();
            out.set("id", pairId(e, k));
            out.set("prompt_id", e.record.id().value());
            out.set("prompt", e.record.node().get("prompt").deepCopy());
            out.set("chosen", completionValue(e, p.chosen()));
            out.set("rejected", completionValue(e, p.rejected()));
            e.rewardScores.put(out, "chosen_", p.chosen());
            e.rewardScores.put(out, "rejected_", p.rejected());
            out.put("chosen_logps", e.policyScores.sum(c));
            out.put("rejected_logps", e.policyScores.sum(r));
            out.put("ref_chosen_logps", ref.sum(c));
            out.put("ref_rejected_logps", ref.sum(r));
            out.put("prompt_tokens", e.tokens[k].prompt().length);
            out.put("chosen_tokens", e.tokens[k].completions()[0].length);
            out.put("rejected_tokens", e.tokens[k].completions()[1].length);
            out.put("chosen_candidate", p.chosen());
            out.put("rejected_candidate", p.rejected());
            e.record.node().properties().forEach(f -> {
                if (!out.has(f.getKey())) {
                    out.set(f.getKey(), f.getValue().deepCopy());
                }
            });
            return out;
        }

        /** The prompt record with every candidate, as {@code sample} writes it, plus its reward and acceptance. */
        ObjectNode candidatesRecord(Entry e) {
            ObjectNode out = SampleOutput.node(e.record, e.sampled);
            JsonNode cs = out.get("completions");
            for (int i = 0; i < cs.size(); i++) {
                e.rewardScores.put((ObjectNode) cs.get(i), "", i);
                ((ObjectNode) cs.get(i)).put("accepted", e.selection.isAccepted(i))
                        .put("pass", e.selection.passOf()[i]);
            }
            ArrayNode accepted = out.putArray("accepted");
            Arrays.stream(e.selection.accepted()).forEach(accepted::add);
            return out;
        }

        ObjectNode acceptanceRecord(Entry e) {
            double max = Double.NEGATIVE_INFINITY;
            double min = Double.POSITIVE_INFINITY;
            double sum = 0;
            for (double r : e.rewards) {
                max = Math.max(max, r);
                min = Math.min(min, r);
                sum += r;
            }
            ObjectNode out = RunManifest.object();
            out.set("id", e.record.id().value());
            out.put("line", e.record.lineNumber());
            out.put("acceptance_seed", e.acceptanceSeed);
            out.put("candidates", e.rewards.length);
            ArrayNode accepted = out.putArray("accepted");
            Arrays.stream(e.selection.accepted()).forEach(accepted::add);
            out.put("passes", e.selection.passes());
            out.put("first_pass_hits", e.selection.firstPassHits());
            out.put("observed_rate", e.selection.firstPassAcceptanceRate());
            out.put("expected_rate", e.expectedRate);
            out.put("reward_max", max);
            out.put("reward_mean", sum / e.rewards.length);
            out.put("reward_min", min);
            out.put("games", e.pairing.games());
            out.put("ties", e.pairing.ties());
            out.put("dropped_empty", e.droppedEmpty);
            out.put("dropped_identical", e.droppedIdentical);
            out.put("pairs", e.pairs.size());
            out.put("generated_tokens", e.sampled.generatedTokens());
            return out;
        }
    }

    private static String text(Entry e, int candidate) {
        return e.sampled.completions().get(candidate).text();
    }

    /** {@code "<prompt id>/<k>"}, k the pair's 0-based index among the prompt's written pairs. */
    private static JsonNode pairId(Entry e, int k) {
        return RunManifest.object().textNode(e.record.id() + "/" + k);
    }

    /** A candidate as a completion field: its text, or for a conversational prompt one assistant message (TRL's format). */
    private static JsonNode completionValue(Entry e, int candidate) {
        String text = text(e, candidate);
        if (!e.record.prompt().isConversational()) {
            return RunManifest.object().textNode(text);
        }
        ArrayNode messages = RunManifest.object().arrayNode();
        messages.addObject().put("role", "assistant").put("content", text);
        return messages;
    }

    /**
     * Samples from {@code policy}, rewards with {@code reward}, and scores the pairs under {@code policy} and
     * {@code reference} (null: the policy's base with adapters, else the policy is its own reference, and the
     * ref_* columns are the policy's).
     */
    public static Result run(Model policy, Model reference, Reward reward, Options o) {
        if (reference != null) {
            VocabCompatibility.check(policy.path(), reference.path());
        }
        return new RsoJob(o).run(policy, reference != null || o.adapters().isEmpty() ? reference : policy, reward);
    }

    private Result run(Model policy, Model reference, Reward reward) {
        RsoManifest manifests = new RsoManifest(o, policy.path(), reference == null ? null : reference.path());
        RunFingerprint run = manifests.fingerprint(reward.identity());
        try (Adapters.Loaded lora = o.adapters().load(policy);
             OutputLock lock = run.claim(o.output(), o.resume())) {
            if (o.keepCandidates() != null && Files.exists(o.keepCandidates()) && !o.resume()) {
                throw new Align4jException(o.keepCandidates() + " exists: pass --resume to continue the run, or remove it");
            }
            try {
                return run(policy, lora, reference, reward, manifests, manifests.head(RunManifest.pathFor(o.output()), run));
            } catch (RewardProtocolException e) {
                RunFingerprint.markBroken(o.output(), e.getMessage()); // while the lock is held
                throw e;
            }
        }
    }

    // The run, once it holds its output.
    private Result run(Model policy, Adapters.Loaded lora, Model reference, Reward reward, RsoManifest manifests, ObjectNode manifest) {
        Path acceptanceLog = acceptanceLogPath(o.output());
        Path manifestFile = RunManifest.pathFor(o.output());
        List<Path> group = new ArrayList<>(List.of(o.output(), acceptanceLog, RejectsWriter.pathFor(o.output())));
        if (o.keepCandidates() != null) {
            group.add(o.keepCandidates());
        }
        ResumePoint point;
        if (o.resume()) {
            point = ResumePoint.resume(o.output(), group);
        } else {
            try {
                Files.deleteIfExists(ResumePoint.pathFor(o.output()));
            } catch (IOException e) {
                throw new Align4jException(ResumePoint.pathFor(o.output()) + ": cannot remove: " + IoMessages.describe(e), e);
            }
            point = ResumePoint.fresh(o.output(), group);
        }
        manifest.put("status", "running");
        RunManifest.write(manifestFile, manifest);

        RuntimeException failure = null;
        try {
            RunSummary summary = process(policy, lora, reference, reward, point);
            return new Result(summary, timings, tally.prompts(), pairsWritten, tiesThisRun, tally.observedFirstPassRate(),
                    tally.meanExpectedRate(), o.output(), acceptanceLog, o.keepCandidates(), manifestFile);
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        } finally {
            try {
                manifests.finish(manifestFile, manifest, acceptanceLog, progress == null ? null : progress.summary(), timings, failure);
            } catch (RuntimeException e) {
                if (failure == null) {
                    throw e;
                }
                failure.addSuppressed(e);
            }
        }
    }

    private RunSummary process(Model policy, Adapters.Loaded lora, Model reference, Reward reward, ResumePoint point) {
        boolean append = o.resume();
        try (ContinuousBatchSampler sampler = new ContinuousBatchSampler(policy, o.engine(), o.sampling());
             ScorerPair scorers = new ScorerPair(policy, reference, o.scorer());
             JsonlReader reader = JsonlReader.open(o.input());
             JsonlWriter pairs = append ? JsonlWriter.append(o.output()) : JsonlWriter.create(o.output());
             JsonlWriter acceptance = append ? JsonlWriter.append(acceptanceLogPath(o.output())) : JsonlWriter.create(acceptanceLogPath(o.output()));
             JsonlWriter candidates = o.keepCandidates() == null ? null
                     : append ? JsonlWriter.append(o.keepCandidates()) : JsonlWriter.create(o.keepCandidates());
             RejectsWriter rejects = append ? RejectsWriter.append(o.output()) : RejectsWriter.create(o.output())) {
            sampler.useAdapters(lora);
            scorers.usePolicyAdapters(lora);
            // The clock starts once the engines are made: the summary's rates are the job's.
            progress = ProgressReporter.toStderr("rso",
                    OptionalLong.of(JsonlReader.countNonBlankLinesAfter(o.input(), point.linesDone())), o.quiet());
            Run run = new Run(sampler, scorers, new RewardStage(reward), policy.vocab(), new LlamaChatRenderer(policy),
                    pairs, acceptance, candidates, rejects, point);
            try {
                run.read(reader);
                run.reward.finish();
            } catch (RuntimeException e) {
                if (!(e instanceof BadRecordException)) {
                    // A runtime failure inside the pipeline: write what was finished before it, then stop.
                    try {
                        run.finishScoring();
                    } catch (RuntimeException f) {
                        e.addSuppressed(f);
                    }
                }
                throw e;
            }
            return progress.summary();
        }
    }
}
