package org.align4j.job;

import java.util.function.BiConsumer;
import org.align4j.engine.Adapters;
import org.align4j.engine.EngineTimings;
import org.align4j.engine.PrefixSharingScorer;
import org.align4j.engine.ScoreRequest;
import org.align4j.engine.ScoreResult;
import org.align4j.engine.ScorerOptions;
import org.align4j.llama.Model;

/**
 * The policy and reference scorers of a job that writes TRL's log-prob columns ({@code score}, {@code rso}):
 * one prefix-sharing scorer per model with the same capacity, each request submitted to both, and reported
 * once both have scored it, in submission order. Without a reference model only the policy scores. The
 * policy's LoRA adapters ({@link #usePolicyAdapters}) apply to its scorer alone: a reference that is the
 * same model scores the base.
 */
public final class ScorerPair implements AutoCloseable {
    private final PrefixSharingScorer policy;
    private final PrefixSharingScorer reference; // null: none

    /** @param reference the reference model, or null */
    public ScorerPair(Model policy, Model reference, ScorerOptions options) {
        this.policy = new PrefixSharingScorer(policy, options);
        try {
            this.reference = reference == null ? null : new PrefixSharingScorer(reference, options);
        } catch (RuntimeException e) {
            this.policy.close();
            throw e;
        }
    }

    /** Applies {@code adapters} to the policy's scorer; before the first request. */
    public void usePolicyAdapters(Adapters.Loaded adapters) {
        if (!adapters.isEmpty()) {
            policy.useAdapters(adapters.adapters(), adapters.scales());
        }
    }

    public boolean hasReference() {
        return reference != null;
    }

    /** Why {@code r} cannot be scored (too long for the context), or null. */
    public String checkFits(ScoreRequest r) {
        return policy.checkFits(r);
    }

    /** Queues {@code r} on both models; {@code onDone} gets the policy's scores and the reference's (null without one). */
    public void submit(ScoreRequest r, BiConsumer<ScoreResult, ScoreResult> onDone) {
        if (reference == null) {
            policy.submit(r, p -> onDone.accept(p, null));
            return;
        }
        ScoreResult[] scored = new ScoreResult[2];
        policy.submit(r, p -> {
            scored[0] = p;
            if (scored[1] != null) {
                onDone.accept(p, scored[1]);
            }
        });
        reference.submit(r, q -> {
            scored[1] = q;
            if (scored[0] != null) {
                onDone.accept(scored[0], q);
            }
        });
    }

    /** Scores everything queued on both models. */
    public void finish() {
        policy.finish();
        if (reference != null) {
            reference.finish();
        }
    }

    /** Where both scorers' engine time went. */
    public EngineTimings timings() {
        EngineTimings t = new EngineTimings();
        t.add(policy.timings());
        if (reference != null) {
            t.add(reference.timings());
        }
        return t;
    }

    @Override
    public void close() {
        if (reference != null) {
            reference.close();
        }
        policy.close();
    }
}
