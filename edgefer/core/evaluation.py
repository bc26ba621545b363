"""Classification metrics from predictions: accuracy, per-class recall, macro-F1, confusion matrix."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes) -> dict:
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    k = len(classes)
    cm = confusion_matrix(y_true, y_pred, k)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    tp = np.diag(cm)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    present = support > 0
    return {
        "n": int(len(y_true)),
        "accuracy": float((y_true == y_pred).mean()) if len(y_true) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_recall": {c: float(r) for c, r in zip(classes, recall)},
        "per_class_f1": {c: float(v) for c, v in zip(classes, f1)},
        "confusion_matrix": cm.tolist(),
    }


def accuracy_where(y_true: np.ndarray, y_pred: np.ndarray, where: np.ndarray) -> dict:
    """Accuracy on the rows `where` holds (e.g. the faces whose FER2013 and FER+ labels agree), with their count."""
    where = np.asarray(where, dtype=bool)
    n = int(where.sum())
    return {"n": n, "accuracy": float((np.asarray(y_true)[where] == np.asarray(y_pred)[where]).mean()) if n else 0.0}
