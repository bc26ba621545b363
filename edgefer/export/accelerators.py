"""How much of an ONNX artifact a phone's accelerator would run: ONNX Runtime's own mobile usability check.

ONNX Runtime Mobile hands nodes to NNAPI (Android) and CoreML (iOS) only where the operator is supported and every
shape is fixed; the rest runs on the CPU, with a copy at each hand-over. `placement` asks onnxruntime's
`tools.mobile_helpers.usability_checker` (the code behind `python -m onnxruntime.tools.check_onnx_model_mobile_usability`)
for the share of nodes each execution provider would take, as the model is (fixed shapes required), so
`edgefer export` can print it beside each ONNX file.
"""

from __future__ import annotations

import logging
from pathlib import Path

PROVIDERS = ("nnapi", "coreml")


def placement(path: str | Path) -> dict[str, float]:
    """{"nnapi": share of nodes, "coreml": share of nodes (CoreML ML Program)} for the model at `path`."""
    from onnxruntime.tools.mobile_helpers import usability_checker as checker

    logging.getLogger("onnxruntime").setLevel(logging.WARNING)
    model = checker.ModelProtoWithShapeInfo(Path(path)).model_with_shape_info
    shares = {}
    for name, check in (("nnapi", lambda m: checker.check_nnapi_partitions(m, True)),
                        ("coreml", lambda m: checker.check_coreml_partitions(m, True,
                                                                             "coreml_supported_mlprogram_ops.md"))):
        info = check(model)
        shares[name] = info.num_supported_nodes / info.num_nodes if info.num_nodes else 0.0
    return shares
