"""How Keras is fed: the tf.data pipeline gives exactly the PyDataset's batches and moves to the next epoch."""

import numpy as np
import pytest

from edgefer.core.keras_env import backend_name, import_keras
from edgefer.train.augment import AUGMENT_PRESETS
from edgefer.train.data_feed import keras_feed, make_batches


def data(n=70, seed=0):
    rng = np.random.default_rng(seed)
    faces = rng.integers(0, 256, size=(n, 48, 48), dtype=np.uint8)
    return faces, np.eye(7, dtype=np.float32)[rng.integers(0, 7, n)]


def as_numpy(feed):
    return [tuple(np.asarray(part) for part in batch) for batch in feed]


def assert_same_batches(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)


@pytest.mark.skipif(backend_name() != "tensorflow", reason="the tf.data feed is the TensorFlow backend's")
def test_feed_yields_the_epochs_batches_and_its_callback_moves_to_the_next_epoch():
    x, y = data()
    spec = AUGMENT_PRESETS["standard"]
    batches = make_batches(x, y, batch_size=32, shuffle=True, seed=3, augment=spec, sample_weights=np.ones(70, "float32"))
    feed, callbacks = keras_feed(batches)
    assert len(callbacks) == 1
    epoch0 = as_numpy(feed)
    assert [b[0].shape for b in epoch0] == [(32, 48, 48, 1), (32, 48, 48, 1), (6, 48, 48, 1)]  # last batch short
    assert_same_batches(epoch0, [batches[i] for i in range(len(batches))])
    callbacks[0].on_epoch_end(0)
    epoch1 = as_numpy(feed)
    resumed = make_batches(x, y, batch_size=32, shuffle=True, seed=3, augment=spec,
                           sample_weights=np.ones(70, "float32"), start_epoch=1)
    assert_same_batches(epoch1, [resumed[i] for i in range(len(resumed))])
    assert not np.array_equal(epoch0[0][0], epoch1[0][0])  # a new order and new augmentation


def test_fit_through_the_feed_sees_every_epoch_once():
    keras = import_keras()
    x, y = data()
    batches = make_batches(x, y, batch_size=32, shuffle=True, seed=0, augment=AUGMENT_PRESETS["light"])
    feed, callbacks = keras_feed(batches)
    model = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(7, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    history = model.fit(feed, epochs=3, callbacks=callbacks, shuffle=False, verbose=0)
    assert batches.epoch == 3  # advanced once per epoch, whoever advanced it (callback or Keras)
    assert len(history.history["loss"]) == 3 and np.isfinite(history.history["loss"]).all()
    probs = model.predict(keras_feed(make_batches(x, y, batch_size=32, shuffle=False))[0], verbose=0)
    assert probs.shape == (70, 7)
