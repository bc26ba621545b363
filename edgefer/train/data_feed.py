"""Batches for Keras `fit`: 48x48 uint8 faces stay in memory; the model resizes per batch.

Never materialises the data at the training size in float32 (that costs 17 GB at 224 px).
The epoch's order and its augmentation are drawn from (seed, epoch), so a resumed run sees the
same batches. Augmentation (edgefer.train.augment) is done once per epoch on the whole uint8 array in
numpy, vectorised: a batch is then only a slice and a cast, so the input path stays a small share
of an epoch (research/input_path_speed.py measures it). Backend-agnostic: numpy in, numpy out.

How Keras gets the batches (`keras_feed`): on TensorFlow, Keras would wrap the PyDataset in
`tf.data.Dataset.from_generator`, which nearly halved the training step rate on a 2-core CPU
(MobileNetV2 a0.35 at 64 px: 1.64 s/step against 0.86 s/step for the same batches as in-memory
arrays; research/feed_speed.py). There the batches go through `Dataset.range(n).map(numpy_function)`
instead, which costs nothing measurable, and a callback moves the PyDataset to the next epoch.
Other backends (JAX) iterate the PyDataset directly.
"""

from __future__ import annotations

import numpy as np

from edgefer.core.keras_env import import_keras
from edgefer.train.augment import AugmentSpec


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def make_batches(x: np.ndarray, y: np.ndarray, *, batch_size: int, shuffle: bool, seed: int = 0,
                 augment: AugmentSpec | None = None, sample_weights: np.ndarray | None = None,
                 start_epoch: int = 0, epoch_targets=None):
    """A keras.utils.PyDataset over in-memory arrays (faces are given a channel axis).

    Order and augmentation of epoch e depend only on (seed, e): a run resumed at epoch e sees
    exactly the batches the uninterrupted run would have seen. `input_seconds` accumulates the
    time spent preparing data (augmentation + batch slicing), `take_seconds()` one epoch's share.
    `epoch_targets(faces) -> targets` replaces `y` each epoch with targets computed on that epoch's
    augmented faces (distillation: a teacher's soft targets); its time is `target_seconds`.
    """
    from edgefer.train.keras_parts import ArrayBatches

    return ArrayBatches(x, y, batch_size, shuffle=shuffle, seed=seed, augment=augment, sample_weights=sample_weights,
                        start_epoch=start_epoch, epoch_targets=epoch_targets)


def keras_feed(batches) -> tuple[object, list]:
    """(what to give Keras `fit`/`predict`, callbacks `fit` needs) for `make_batches` output.

    On TensorFlow: a tf.data pipeline that reads the same batches through `numpy_function`, and a
    callback that advances `batches` to the next epoch (Keras calls a PyDataset's `on_epoch_end`
    only when it is given the PyDataset); put it before callbacks that read `take_seconds()` so an
    epoch's row includes the preparation of the next one, as with a PyDataset. Elsewhere: unchanged.
    """
    keras = import_keras()
    if keras.backend.backend() != "tensorflow":
        return batches, []
    from edgefer.train.keras_parts import EpochEnd

    return _tf_dataset(batches), [EpochEnd(batches)]


def _tf_dataset(batches):
    import tensorflow as tf

    specs = [tf.TensorSpec((None, *part.shape[1:]), tf.as_dtype(part.dtype)) for part in batches[0]]

    def fetch(index):
        return tuple(batches[int(index)])

    def load(index):
        parts = tf.numpy_function(fetch, [index], [spec.dtype for spec in specs], stateful=True)
        return tuple(tf.ensure_shape(part, spec.shape) for part, spec in zip(parts, specs))

    # Keras starts a new iterator every epoch, so the prefetched batches never cross an epoch boundary.
    return tf.data.Dataset.range(len(batches)).map(load).prefetch(2)
