package org.align4j.train;

import java.util.Objects;

/**
 * A trainable weight W (O, I) held as an f32 array, row-major, shared with the {@link LlamaParams} that
 * owns it (the optimizer changes it between passes). Products are the {@link Gemm} kernels on it.
 */
public record F32Matrix(float[] data, int out, int in) implements WeightMatrix {
    public F32Matrix {
        Objects.requireNonNull(data);
        if ((long) out * in != data.length) {
            throw new IllegalArgumentException(data.length + " values for a matrix (" + out + ", " + in + ")");
        }
    }

    @Override
    public void forward(Parallel par, int rows, float[] x, float[] y) {
        // W^T (I, O) is a fresh array each product: the kernel reads B row-major, and W may change between passes.
        float[] wT = new float[data.length];
        LlamaOps.transpose(par, data, 0, out, in, wT);
        Gemm.ab(par, rows, out, in, x, wT, y);
    }

    @Override
    public void backward(Parallel par, int rows, float[] dy, float[] dx) {
        Gemm.ab(par, rows, in, out, dy, data, dx);
    }

    @Override
    public void rows(int first, int n, float[] dst, int off) {
        System.arraycopy(data, Math.multiplyExact(first, in), dst, off, Math.multiplyExact(n, in));
    }
}
