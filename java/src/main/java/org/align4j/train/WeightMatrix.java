package org.align4j.train;

/**
 * A weight matrix W (O, I) as the forward and backward passes use it, whatever it is stored as: a
 * trainable f32 array ({@link F32Matrix}) or a frozen view of a GGUF tensor in its file's type
 * ({@link FrozenMatrix}), or either with a low-rank adapter ({@link LoraMatrix}). O and I are its output and input widths; W is row-major (O, I), as GGUF
 * stores a tensor of dims [I, O]. Gradients of W itself exist only for an {@link F32Matrix};
 * a {@link LoraMatrix} has gradients of its A and B.
 */
public sealed interface WeightMatrix permits F32Matrix, FrozenMatrix, LoraMatrix {
    /** O: rows of W. */
    int out();

    /** I: columns of W. */
    int in();

    /** {@code y (rows, O) += x (rows, I) . W^T}. */
    void forward(Parallel par, int rows, float[] x, float[] y);

    /** {@code dx (rows, I) += dy (rows, O) . W}: the gradient flowing back to the product's input. */
    void backward(Parallel par, int rows, float[] dy, float[] dx);

    /** Rows first..first+n of W in f32 into {@code dst} at {@code off}: (n, I), decoded if need be (embeddings, output tiles). */
    void rows(int first, int n, float[] dst, int off);
}
