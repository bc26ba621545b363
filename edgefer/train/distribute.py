"""Data-parallel training over all local accelerators with the backend's own engine.

TensorFlow: `tf.distribute.MirroredStrategy` over the GPUs (or, without GPUs, every logical CPU
device, which is how it is tested). JAX: `keras.distribution.DataParallel` over `jax.devices()`.
The batch size given by the user is per replica; the global batch is that times the replicas.
Multi-host training uses the same engines' multi-worker modes (see README); edgefer adds no
scheduler of its own.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, ContextManager

from edgefer.core.keras_env import backend_name, import_keras
from edgefer.errors import ModelError


@dataclass
class Distribution:
    engine: str
    devices: list[str]
    scope: Callable[[], ContextManager]

    @property
    def replicas(self) -> int:
        return len(self.devices)


def _tensorflow() -> Distribution:
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
        d.name for d in tf.config.list_logical_devices("CPU")
    ]
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    return Distribution("tf.distribute.MirroredStrategy", devices, strategy.scope)


def _jax() -> Distribution:
    keras = import_keras()
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return Distribution("keras.distribution.DataParallel", [str(d) for d in devices], contextlib.nullcontext)


ENGINES: dict[str, Callable[[], Distribution]] = {"tensorflow": _tensorflow, "jax": _jax}


def single_device() -> Distribution:
    return Distribution("none", ["default"], contextlib.nullcontext)


def local_distribution() -> Distribution:
    backend = backend_name()
    if backend not in ENGINES:
        raise ModelError(f"--distribute supports the {' and '.join(ENGINES)} backends, not {backend}")
    return ENGINES[backend]()
