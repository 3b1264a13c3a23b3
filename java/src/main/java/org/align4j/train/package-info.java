/**
 * The Java side of training: the Llama-family forward and backward passes in f32 (llama, qwen2, qwen3:
 * {@link org.align4j.train.LlamaTrainer} over {@link org.align4j.train.LlamaParams}), GGUF export and
 * checkpoints (later the losses, the optimizer and the DPO updater). {@link
 * org.align4j.train.ReferenceForward} is the same forward pass on one sequence, for tests.
 *
 * <p>Shape letters, used in every comment of this package: T tokens of one sequence, S sequences in a
 * batch, R tokens of a whole batch (its sequences back to back), N scored tokens, V vocabulary,
 * C embedding width, H query heads, G key/value heads (H is a multiple of G), D head width (C / H
 * unless the file sets key_length), Q query width (Q = H * D), K key/value width (K = G * D), F
 * feed-forward width; O and I are one weight matrix's output and input widths, W (O, I) as GGUF stores
 * it ({@link org.align4j.train.FrozenMatrix}). Activations are row-major {@code float[]}s,
 * the first letter of a shape varying slowest.
 */
package org.align4j.train;
