package org.align4j.train;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * f32 matrix products C += A . B with the Vector API, the one kernel behind every matmul of the
 * forward and backward passes: y = x . W^T (with W^T materialised), dx = dy . W and dW += dy^T . x,
 * and of {@link FrozenMatrix}'s products on decoded tiles. Public for the kernel benchmarks.
 *
 * <p>Vectors run along C's rows (J); A's elements are broadcast, so A may be read through any strides
 * and a transposed A costs nothing. Each element of C is one fused multiply-add chain over k in
 * increasing order, whatever the blocking or the number of threads: results are bit-identical for
 * any tiling, which the parallel split and the output layer's recomputation in backward rely on.
 */
public final class Gemm {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    private static final int KC = 256; // k per sweep: a (KC, JC) panel of B stays in L2
    private static final int JC = 256; // columns per panel
    private static final int MAX_IB = 64; // rows per parallel tile, at most
    private static final int MAX_JB = 256; // columns per parallel tile, at most

    private Gemm() {}

    /** C (I, J) += A (I, K) . B (K, J); A, B, C packed row-major. */
    public static void ab(Parallel par, int iN, int jN, int kN, float[] a, float[] b, float[] c) {
        mul(par, iN, jN, kN, a, 0, kN, 1, b, 0, jN, c, 0, jN);
    }

    /** C (I, J) += A^T . B with A stored (K, I); A, B, C packed row-major. */
    public static void atb(Parallel par, int iN, int jN, int kN, float[] a, float[] b, float[] c) {
        mul(par, iN, jN, kN, a, 0, 1, iN, b, 0, jN, c, 0, jN);
    }

    /**
     * C (I, J) += A (I, K) . B (K, J), on one thread, where element (i, k) of A is
     * {@code a[aOff + i * aRs + k * aCs]}, row k of B starts at {@code bOff + k * ldb} and row i of C at
     * {@code cOff + i * ldc}.
     */
    static void mulSerial(int iN, int jN, int kN, float[] a, int aOff, int aRs, int aCs,
                          float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        for (int k0 = 0; k0 < kN; k0 += KC) {
            int kc = Math.min(KC, kN - k0);
            for (int j0 = 0; j0 < jN; j0 += JC) {
                int jEnd = Math.min(jN, j0 + JC);
                int ak = aOff + k0 * aCs;
                int bk = bOff + k0 * ldb;
                int i = 0;
                for (; i + 4 <= iN; i += 4) {
                    int j = j0;
                    for (; j + 2 * L <= jEnd; j += 2 * L) {
                        kernel4x2(kc, a, ak + i * aRs, aRs, aCs, b, bk + j, ldb, c, cOff + i * ldc + j, ldc);
                    }
                    for (; j < jEnd; j += L) {
                        kernel4x1(kc, a, ak + i * aRs, aRs, aCs, b, bk + j, ldb, c, cOff + i * ldc + j, ldc, F.indexInRange(j, jEnd));
                    }
                }
                for (; i < iN; i++) {
                    for (int j = j0; j < jEnd; j += L) {
                        kernel1x1(kc, a, ak + i * aRs, aCs, b, bk + j, ldb, c, cOff + i * ldc + j, F.indexInRange(j, jEnd));
                    }
                }
            }
        }
    }

    // Splits C into tiles, one task each, with enough tiles to keep every thread busy.
    static void mul(Parallel par, int iN, int jN, int kN, float[] a, int aOff, int aRs, int aCs,
                    float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        if (iN == 0 || jN == 0 || kN == 0) {
            return;
        }
        if (par.threads() == 1) {
            mulSerial(iN, jN, kN, a, aOff, aRs, aCs, b, bOff, ldb, c, cOff, ldc);
            return;
        }
        int ib = MAX_IB;
        int jb = MAX_JB;
        int wanted = 4 * par.threads();
        while (tiles(iN, ib) * tiles(jN, jb) < wanted) {
            if (ib > 8) {
                ib /= 2;
            } else if (jb > 2 * L) {
                jb /= 2;
            } else {
                break;
            }
        }
        int ti = tiles(iN, ib);
        int tj = tiles(jN, jb);
        int rows = ib;
        int cols = jb;
        par.forEach(ti * tj, t -> {
            int i0 = (t / tj) * rows;
            int j0 = (t % tj) * cols;
            mulSerial(Math.min(rows, iN - i0), Math.min(cols, jN - j0), kN, a, aOff + i0 * aRs, aRs, aCs,
                    b, bOff + j0, ldb, c, cOff + i0 * ldc + j0, ldc);
        });
    }

    private static int tiles(int n, int block) {
        return (n + block - 1) / block;
    }

    // 4 rows of C by 2 vectors, accumulators in registers.
    private static void kernel4x2(int kc, float[] a, int ap, int aRs, int aCs, float[] b, int bp, int ldb,
                                  float[] c, int cp, int ldc) {
        FloatVector c00 = FloatVector.fromArray(F, c, cp);
        FloatVector c01 = FloatVector.fromArray(F, c, cp + L);
        FloatVector c10 = FloatVector.fromArray(F, c, cp + ldc);
        FloatVector c11 = FloatVector.fromArray(F, c, cp + ldc + L);
        FloatVector c20 = FloatVector.fromArray(F, c, cp + 2 * ldc);
        FloatVector c21 = FloatVector.fromArray(F, c, cp + 2 * ldc + L);
        FloatVector c30 = FloatVector.fromArray(F, c, cp + 3 * ldc);
        FloatVector c31 = FloatVector.fromArray(F, c, cp + 3 * ldc + L);
        for (int k = 0; k < kc; k++, ap += aCs, bp += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bp);
            FloatVector b1 = FloatVector.fromArray(F, b, bp + L);
            FloatVector x = FloatVector.broadcast(F, a[ap]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ap + aRs]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ap + 2 * aRs]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ap + 3 * aRs]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
        }
        c00.intoArray(c, cp);
        c01.intoArray(c, cp + L);
        c10.intoArray(c, cp + ldc);
        c11.intoArray(c, cp + ldc + L);
        c20.intoArray(c, cp + 2 * ldc);
        c21.intoArray(c, cp + 2 * ldc + L);
        c30.intoArray(c, cp + 3 * ldc);
        c31.intoArray(c, cp + 3 * ldc + L);
    }

    // 4 rows of C by one vector, lanes outside m untouched.
    private static void kernel4x1(int kc, float[] a, int ap, int aRs, int aCs, float[] b, int bp, int ldb,
                                  float[] c, int cp, int ldc, VectorMask<Float> m) {
        FloatVector c0 = FloatVector.fromArray(F, c, cp, m);
        FloatVector c1 = FloatVector.fromArray(F, c, cp + ldc, m);
        FloatVector c2 = FloatVector.fromArray(F, c, cp + 2 * ldc, m);
        FloatVector c3 = FloatVector.fromArray(F, c, cp + 3 * ldc, m);
        for (int k = 0; k < kc; k++, ap += aCs, bp += ldb) {
            FloatVector b0 = FloatVector.fromArray(F, b, bp, m);
            c0 = FloatVector.broadcast(F, a[ap]).fma(b0, c0);
            c1 = FloatVector.broadcast(F, a[ap + aRs]).fma(b0, c1);
            c2 = FloatVector.broadcast(F, a[ap + 2 * aRs]).fma(b0, c2);
            c3 = FloatVector.broadcast(F, a[ap + 3 * aRs]).fma(b0, c3);
        }
        c0.intoArray(c, cp, m);
        c1.intoArray(c, cp + ldc, m);
        c2.intoArray(c, cp + 2 * ldc, m);
        c3.intoArray(c, cp + 3 * ldc, m);
    }

    // One row of C by one vector, lanes outside m untouched.
    private static void kernel1x1(int kc, float[] a, int ap, int aCs, float[] b, int bp, int ldb,
                                  float[] c, int cp, VectorMask<Float> m) {
        FloatVector acc = FloatVector.fromArray(F, c, cp, m);
        for (int k = 0; k < kc; k++, ap += aCs, bp += ldb) {
            acc = FloatVector.broadcast(F, a[ap]).fma(FloatVector.fromArray(F, b, bp, m), acc);
        }
        acc.intoArray(c, cp, m);
    }
}
