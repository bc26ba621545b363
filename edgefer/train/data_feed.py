"""Batches for Keras `fit`: 48x48 uint8 faces stay in memory; the model resizes per batch.

Never materialises the data at the training size in float32 (that costs 17 GB at 224 px).
The epoch's order and its augmentation are drawn from (seed, epoch), so a resumed run sees the
same batches. Augmentation (edgefer.train.augment) is done once per epoch on the whole uint8 array in
numpy, vectorised: a batch is then only a slice and a cast, so the input path stays a small share
of an epoch (benchmarks/input_path_speed.py measures it). Backend-agnostic: numpy in, numpy out.

How Keras gets the batches (`keras_feed`): on TensorFlow, Keras would wrap the PyDataset in
`tf.data.Dataset.from_generator`, which nearly halved the training step rate on a 2-core CPU
(MobileNetV2 a0.35 at 64 px: 1.64 s/step against 0.86 s/step for the same batches as in-memory
arrays; benchmarks/feed_speed.py). There the batches go through `Dataset.range(n).map(numpy_function)`
instead, which costs nothing measurable, and a callback moves the PyDataset to the next epoch.
Other backends (JAX) iterate the PyDataset directly.
"""

from __future__ import annotations

import time

import numpy as np

from edgefer.keras_env import import_keras
from edgefer.train.augment import AugmentSpec, augment_epoch


def one_hot(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[labels]


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


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
    keras = import_keras()

    class ArrayBatches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = start_epoch
            self.input_seconds = self.target_seconds = 0.0
            self._taken = (0.0, 0.0)
            self._start_epoch()

        def _start_epoch(self):
            start = time.perf_counter()
            self.order = epoch_order(len(x), seed, self.epoch) if shuffle else np.arange(len(x))
            self.x = augment_epoch(x, augment, seed, self.epoch) if augment is not None else x
            self.input_seconds += time.perf_counter() - start
            self.y = y
            if epoch_targets is not None:
                start = time.perf_counter()
                self.y = epoch_targets(self.x)
                self.target_seconds += time.perf_counter() - start

        def take_seconds(self) -> tuple[float, float]:
            """(input, target) seconds spent since the last call: what one epoch cost."""
            spent = (self.input_seconds - self._taken[0], self.target_seconds - self._taken[1])
            self._taken = (self.input_seconds, self.target_seconds)
            return spent

        def __len__(self):
            return max(1, -(-len(x) // batch_size))

        def __getitem__(self, index):
            start = time.perf_counter()
            rows = self.order[index * batch_size : (index + 1) * batch_size]
            batch = self.x[rows]
            if batch.ndim == 3:
                batch = batch[..., None]
            out = (batch.astype(np.float32), self.y[rows])
            if sample_weights is not None:
                out += (sample_weights[rows],)
            self.input_seconds += time.perf_counter() - start
            return out

        def on_epoch_end(self):
            self.epoch += 1
            self._start_epoch()

    return ArrayBatches()


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
    return _tf_dataset(batches), [_NextEpoch(keras, batches)]


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


def _NextEpoch(keras, batches):
    class NextEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            batches.on_epoch_end()

    return NextEpoch()
