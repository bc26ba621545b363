"""Batches for Keras `fit`: 48x48 uint8 faces stay in memory; the model resizes per batch.

Never materialises the data at the training size in float32 (the seed's way costs 17 GB at 224).
The epoch's order is drawn from (seed, epoch), so a resumed run sees the same batches.
Augmentation (advanced mode) runs on the 48x48 batch with Keras preprocessing layers, the
equivalent of the seed's ImageDataGenerator: horizontal flip, small rotation, zoom, shifts,
brightness and contrast. Backend-agnostic: numpy in, numpy out.
"""

from __future__ import annotations

import numpy as np

from edgefer.keras_env import import_keras


def build_augmenter(seed: int):
    keras = import_keras()
    layers = keras.layers
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(0.05, fill_mode="nearest", seed=seed + 1),  # about +-18 degrees
            layers.RandomZoom(0.1, fill_mode="nearest", seed=seed + 2),
            layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 3),
            layers.RandomBrightness(0.1, value_range=(0, 255), seed=seed + 4),
            layers.RandomContrast(0.1, value_range=(0, 255), seed=seed + 5),
        ],
        name="augment",
    )


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def make_batches(x: np.ndarray, y: np.ndarray, *, batch_size: int, shuffle: bool, seed: int = 0,
                 augment: bool = False, sample_weights: np.ndarray | None = None, start_epoch: int = 0):
    """A keras.utils.PyDataset over in-memory arrays (faces are given a channel axis).

    Order and augmentation of epoch e depend only on (seed, e): a run resumed at epoch e sees
    exactly the batches the uninterrupted run would have seen.
    """
    keras = import_keras()

    class ArrayBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = start_epoch
            self._start_epoch()

        def _start_epoch(self):
            self.augmenter = build_augmenter(seed * 1000 + self.epoch * 10) if augment else None
            self.order = (
                np.random.default_rng([seed, self.epoch]).permutation(len(x)) if shuffle else np.arange(len(x))
            )

        def __len__(self):
            return max(1, -(-len(x) // batch_size))

        def __getitem__(self, index):
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            batch = x[rows]
            if batch.ndim == 3:
                batch = batch[..., None]
            batch = batch.astype(np.float32)
            if self.augmenter is not None:
                batch = keras.ops.convert_to_numpy(self.augmenter(batch, training=True))
            out = (batch, y[rows])
            return out + (sample_weights[rows],) if sample_weights is not None else out

        def on_epoch_end(self):
            self.epoch += 1
            self._start_epoch()

    return ArrayBatches()
