package org.align4j.train;

import java.io.Serial;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * Runs the independent tasks 0..n-1 of one operation on a fork-join pool and returns when all are
 * done. Callers split work so that each task owns what it writes and sums in a fixed order, so results
 * are bit-identical whatever the number of threads. One thread runs everything inline. Public for the
 * kernel benchmarks.
 */
public final class Parallel implements AutoCloseable {
    /** The most threads of a pool of its own: llama.cpp's limit too, so that one --threads suits both halves of dpo. */
    static final int MAX_THREADS = 512;

    private static final Parallel COMMON = new Parallel(ForkJoinPool.commonPool(), ForkJoinPool.getCommonPoolParallelism(), false);

    private final ForkJoinPool pool; // null: run inline
    private final int threads;
    private final boolean owned;

    private Parallel(ForkJoinPool pool, int threads, boolean owned) {
        this.pool = threads > 1 ? pool : null;
        this.threads = Math.max(1, threads);
        this.owned = owned;
    }

    /** A pool of its own with {@code threads} workers (1: no pool, the caller's thread does the work). */
    public static Parallel ofThreads(int threads) {
        checkThreads(threads);
        return new Parallel(threads > 1 ? new ForkJoinPool(threads) : null, threads, threads > 1);
    }

    /** @throws IllegalArgumentException unless 1 <= threads <= {@link #MAX_THREADS} */
    static void checkThreads(int threads) {
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("trainer threads must be 1 to " + MAX_THREADS + ", not " + threads);
        }
    }

    /** The JVM's common pool, never closed. */
    public static Parallel common() {
        return COMMON;
    }

    public int threads() {
        return threads;
    }

    /** Runs {@code task.accept(i)} for i in [0, n), possibly at once on several threads. */
    public void forEach(int n, IntConsumer task) {
        if (pool == null || n <= 1) {
            for (int i = 0; i < n; i++) {
                task.accept(i);
            }
            return;
        }
        pool.invoke(new Range(0, n, task));
    }

    @Override
    public void close() {
        if (owned) {
            pool.shutdown();
        }
    }

    private static final class Range extends RecursiveAction {
        @Serial
        private static final long serialVersionUID = 1L;
        private final int from;
        private final int to;
        private final transient IntConsumer task;

        Range(int from, int to, IntConsumer task) {
            this.from = from;
            this.to = to;
            this.task = task;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                task.accept(from);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Range(from, mid, task), new Range(mid, to, task));
        }
    }
}
