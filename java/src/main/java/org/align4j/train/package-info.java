/**
 * The Java side of training: a reference Llama forward pass (later its backward pass, losses, the
 * optimizer and the DPO updater).
 *
 * <p>Shape letters, used in every comment of this package: T tokens of one sequence, V vocabulary,
 * C embedding width, H query heads, G key/value heads (H is a multiple of G), D head width (C = H * D),
 * K key/value width (K = G * D), F feed-forward width. Activations are row-major {@code float[]}s,
 * the first letter of a shape varying slowest.
 */
package org.align4j.train;
