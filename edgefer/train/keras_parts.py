"""edgefer's Keras subclasses, defined once at module level: the distillation loss and metric, and the callbacks
training hooks into (the epoch-end call of the input path, the per-epoch checkpoint).

The one module of the train stage that imports Keras when it is imported; the others ask `keras_env` for it inside
their functions, so that `edgefer --help`, the data layer and the device predictor never load it. The loss and the
metric are registered serializables: a distillation checkpoint saved with them loads in any later process that
imports this module.
"""

from __future__ import annotations

import time

import numpy as np

from edgefer.core.keras_env import import_keras
from edgefer.train.augment import augment_epoch, epoch_order

keras = import_keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="edgefer")
class DistillationLoss(keras.losses.Loss):
    """(1 - w) * CE(hard labels, student) + w * T^2 * KL(teacher_T || student_T); targets are [hard | teacher_T]."""

    def __init__(self, num_classes=7, temperature=4.0, weight=0.7, label_smoothing=0.0, name="distillation",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.temperature = num_classes, temperature
        self.weight, self.label_smoothing = weight, label_smoothing

    def call(self, y_true, y_pred):
        k, t = self.num_classes, self.temperature
        hard, soft = y_true[:, :k], y_true[:, k:]
        if self.label_smoothing:
            hard = hard * (1.0 - self.label_smoothing) + self.label_smoothing / k
        log_p = ops.log(ops.clip(y_pred, 1e-7, 1.0))
        ce = -ops.sum(hard * log_p, axis=-1)
        log_student_t = ops.log_softmax(log_p / t, axis=-1)
        kl = ops.sum(soft * (ops.log(ops.clip(soft, 1e-7, 1.0)) - log_student_t), axis=-1)
        return (1.0 - self.weight) * ce + self.weight * (t * t) * kl

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "temperature": self.temperature,
                "weight": self.weight, "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="edgefer")
def hard_label_accuracy(y_true, y_pred):
    """Top-1 accuracy against the hard-label part of distillation targets."""
    k = ops.shape(y_pred)[-1]
    return ops.cast(ops.equal(ops.argmax(y_true[:, :k], axis=-1), ops.argmax(y_pred, axis=-1)), "float32")


class EpochEnd(keras.callbacks.Callback):
    """Calls `on_epoch_end()` of an object (the batches of the input path: next epoch's augmentation)."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        self.target.on_epoch_end()


class Checkpoint(keras.callbacks.Callback):
    """Times each epoch and hands its end to `save(epoch, logs, seconds)` (the trainer's checkpoint)."""

    def __init__(self, save):
        super().__init__()
        self.save, self.started = save, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch, logs or {}, time.perf_counter() - self.started)


class ArrayBatches(keras.utils.PyDataset):
    """In-memory batches for Keras `fit`, one epoch's augmentation at a time (edgefer.train.data_feed.make_batches)."""

    def __init__(self, x, y, batch_size, *, shuffle, seed, augment, sample_weights, start_epoch, epoch_targets):
        super().__init__(workers=1, use_multiprocessing=False)
        self.source_x, self.source_y, self.batch_size, self.shuffle, self.seed = x, y, batch_size, shuffle, seed
        self.augment, self.sample_weights, self.epoch_targets = augment, sample_weights, epoch_targets
        self.epoch = start_epoch
        self.input_seconds = self.target_seconds = 0.0
        self._taken = (0.0, 0.0)
        self._start_epoch()

    def _start_epoch(self):
        start = time.perf_counter()
        x, n = self.source_x, len(self.source_x)
        self.order = epoch_order(n, self.seed, self.epoch) if self.shuffle else np.arange(n)
        self.x = augment_epoch(x, self.augment, self.seed, self.epoch) if self.augment is not None else x
        self.input_seconds += time.perf_counter() - start
        self.y = self.source_y
        if self.epoch_targets is not None:
            start = time.perf_counter()
            self.y = self.epoch_targets(self.x)
            self.target_seconds += time.perf_counter() - start

    def take_seconds(self) -> tuple[float, float]:
        """(input, target) seconds spent since the last call: what one epoch cost."""
        spent = (self.input_seconds - self._taken[0], self.target_seconds - self._taken[1])
        self._taken = (self.input_seconds, self.target_seconds)
        return spent

    def __len__(self):
        return max(1, -(-len(self.source_x) // self.batch_size))

    def __getitem__(self, index):
        start = time.perf_counter()
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = self.x[rows]
        if batch.ndim == 3:
            batch = batch[..., None]
        out = (batch.astype(np.float32), self.y[rows])
        if self.sample_weights is not None:
            out += (self.sample_weights[rows],)
        self.input_seconds += time.perf_counter() - start
        return out

    def on_epoch_end(self):
        self.epoch += 1
        self._start_epoch()
