"""An ONNX Runtime format (``.ort``) model read back into an ONNX model, in memory.

Moonshine's ``.ort`` files store their weights as int8 with a scale and an offset,
turned back into float32 by ``Cast``/``Mul``/``Add`` nodes. onnxruntime runs an
``.ort`` graph as saved (its graph optimisations are not applied to that format), so
those nodes run on every call: the merged decoder re-expands all its weights,
the 32,768 x 416 token embedding included, for every token it emits, which is
most of its time. Read back as an ONNX model with those nodes computed once
(:func:`ort_to_onnx`), every later call only multiplies.

The folded weights are bit for bit what the graph computes: numpy's float32
multiply and add are the same IEEE single-precision operations as onnxruntime's
element-wise kernels, done in the same order.

The flatbuffer classes are the ones onnxruntime ships for its own tooling
(``onnxruntime/tools/ort_format_model/ort_flatbuffers_py``). They are loaded
from their folder under their own package name, because importing
``onnxruntime.tools`` imports torch. Nodes, attributes (sub-graphs included),
initializers, value types and opset imports are carried over as they are; fused
nodes, sparse initializers and external data are refused (Moonshine's files
have none).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bridge.speech.model_files import SpeechModelError

_PACKAGE = "ort_flatbuffers_py"
#: ONNX element types this reader turns into numpy arrays (the others stay as raw bytes)
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 10: np.float16,
           11: np.float64}


def _fbs() -> Any:
    """onnxruntime's generated flatbuffer classes, without importing ``onnxruntime.tools``."""
    if _PACKAGE not in sys.modules:
        spec = importlib.util.find_spec("onnxruntime")
        if spec is None or not spec.submodule_search_locations:
            raise SpeechModelError("onnxruntime is not installed; run `make install`")
        folder = Path(next(iter(spec.submodule_search_locations))) / "tools" / "ort_format_model" / _PACKAGE
        init = importlib.util.spec_from_file_location(_PACKAGE, folder / "__init__.py",
                                                      submodule_search_locations=[str(folder)])
        if init is None or init.loader is None or not folder.is_dir():
            raise SpeechModelError(f"onnxruntime's ORT format reader is missing ({folder}); reinstall onnxruntime")
        module = importlib.util.module_from_spec(init)
        sys.modules[_PACKAGE] = module
        init.loader.exec_module(module)
    return importlib.import_module(f"{_PACKAGE}.fbs")


def _text(value: bytes | None) -> str:
    return value.decode("utf-8") if value is not None else ""


class _Reader:
    def __init__(self) -> None:
        import onnx

        self.onnx = onnx
        self.fbs = _fbs()
        self.weights: dict[str, np.ndarray] = {}  #: folded weights, handed to the session as they are

    # -- tensors ---------------------------------------------------------------------------
    def array(self, t: Any) -> np.ndarray | None:
        """A numeric tensor as a numpy array (None for other kinds)."""
        dtype = _DTYPES.get(t.DataType())
        if dtype is None:
            return None
        if t.ExternalDataOffset() >= 0:
            raise SpeechModelError(f"tensor {_text(t.Name())} keeps its data outside the model file")
        dims = [t.Dims(i) for i in range(t.DimsLength())]
        raw = t.RawDataAsNumpy() if t.RawDataLength() else np.zeros(0, dtype=np.uint8)
        return raw.view(dtype).reshape(dims)  # a view into the file's bytes: no copy

    def tensor(self, t: Any) -> Any:
        proto = self.onnx.TensorProto()
        proto.name = _text(t.Name())
        proto.dims.extend(t.Dims(i) for i in range(t.DimsLength()))
        proto.data_type = t.DataType()
        if t.ExternalDataOffset() >= 0:
            raise SpeechModelError(f"tensor {proto.name} keeps its data outside the model file")
        if proto.data_type == self.onnx.TensorProto.STRING:
            proto.string_data.extend(t.StringData(i) for i in range(t.StringDataLength()))
        elif t.RawDataLength():
            proto.raw_data = t.RawDataAsNumpy().tobytes()
        return proto

    def external(self, name: str, value: np.ndarray) -> Any:
        """A tensor whose data the session gets as an OrtValue (``add_external_initializers``), not in the proto."""
        proto = self.onnx.TensorProto()
        proto.name = name
        proto.dims.extend(value.shape)
        proto.data_type = next(k for k, v in _DTYPES.items() if v == value.dtype)
        proto.data_location = self.onnx.TensorProto.EXTERNAL
        entry = proto.external_data.add()
        entry.key, entry.value = "location", "memory"
        self.weights[name] = np.ascontiguousarray(value)
        return proto

    # -- graph pieces ----------------------------------------------------------------------
    def attribute(self, a: Any) -> Any:
        kinds = self.fbs.AttributeType.AttributeType
        proto = self.onnx.AttributeProto()
        proto.name = _text(a.Name())
        proto.type = kind = a.Type()
        if kind == kinds.FLOAT:
            proto.f = a.F()
        elif kind == kinds.INT:
            proto.i = a.I()
        elif kind == kinds.STRING:
            proto.s = a.S()
        elif kind == kinds.TENSOR:
            proto.t.CopyFrom(self.tensor(a.T()))
        elif kind == kinds.GRAPH:
            proto.g.CopyFrom(self.graph(a.G(), proto.name, fold=False))
        elif kind == kinds.FLOATS:
            proto.floats.extend(a.Floats(i) for i in range(a.FloatsLength()))
        elif kind == kinds.INTS:
            proto.ints.extend(a.Ints(i) for i in range(a.IntsLength()))
        elif kind == kinds.STRINGS:
            proto.strings.extend(a.Strings(i) for i in range(a.StringsLength()))
        elif kind == kinds.TENSORS:
            proto.tensors.extend(self.tensor(a.Tensors(i)) for i in range(a.TensorsLength()))
        elif kind == kinds.GRAPHS:
            proto.graphs.extend(self.graph(a.Graphs(i), proto.name, fold=False) for i in range(a.GraphsLength()))
        else:
            raise SpeechModelError(f"attribute {proto.name} has a type this reader does not know ({kind})")
        return proto

    def value_info(self, v: Any) -> Any:
        proto = self.onnx.ValueInfoProto()
        proto.name = _text(v.Name())
        info = v.Type()
        if info is None:
            return proto
        if info.ValueType() != self.fbs.TypeInfoValue.TypeInfoValue.tensor_type:
            raise SpeechModelError(f"{proto.name} is not a tensor")
        table = info.Value()
        tensor_type = self.fbs.TensorTypeAndShape.TensorTypeAndShape()
        tensor_type.Init(table.Bytes, table.Pos)
        proto.type.tensor_type.elem_type = tensor_type.ElemType()
        shape = tensor_type.Shape()
        if shape is not None:
            out = proto.type.tensor_type.shape
            out.SetInParent()
            for i in range(shape.DimLength()):
                value = shape.Dim(i).Value()
                dim = out.dim.add()
                if value is not None and value.DimType() == 1:
                    dim.dim_value = value.DimValue()
                elif value is not None and value.DimType() == 2:
                    dim.dim_param = _text(value.DimParam())
        return proto

    def node(self, n: Any) -> Any:
        if n.Type() != self.fbs.NodeType.NodeType.Primitive:
            raise SpeechModelError(f"node {_text(n.Name())} is a fused node")
        node = self.onnx.NodeProto()
        node.op_type, node.domain, node.name = _text(n.OpType()), _text(n.Domain()), _text(n.Name())
        node.input.extend(_text(n.Inputs(j)) for j in range(n.InputsLength()))
        node.output.extend(_text(n.Outputs(j)) for j in range(n.OutputsLength()))
        node.attribute.extend(self.attribute(n.Attributes(j)) for j in range(n.AttributesLength()))
        return node

    def graph(self, g: Any, name: str, fold: bool) -> Any:
        if g.SparseInitializersLength():
            raise SpeechModelError("the model has sparse initializers")
        values = {_text(g.NodeArgs(i).Name()): g.NodeArgs(i) for i in range(g.NodeArgsLength())}
        tensors = {_text(g.Initializers(i).Name()): g.Initializers(i) for i in range(g.InitializersLength())}
        nodes = sorted((g.Nodes(i) for i in range(g.NodesLength())), key=lambda n: n.Index())
        folded: dict[str, np.ndarray] = {}
        uses: dict[str, int] = {}
        for n in nodes:
            for j in range(n.InputsLength()):
                uses[_text(n.Inputs(j))] = uses.get(_text(n.Inputs(j)), 0) + 1
        kept = []
        for n in nodes:
            result = self.fold(n, tensors, folded) if fold else None
            if result is None:
                kept.append(self.node(n))
                continue
            folded[_text(n.Outputs(0))] = result
            for j in range(n.InputsLength()):  # an intermediate expansion is dropped once its one user has it
                name = _text(n.Inputs(j))
                uses[name] -= 1
                if uses[name] == 0 and name in folded:
                    del folded[name]
        proto = self.onnx.GraphProto()
        proto.name = name
        proto.node.extend(kept)
        used = {name for node in kept for name in node.input} | _outer_names(kept)
        used |= {_text(g.Outputs(i)) for i in range(g.OutputsLength())}
        proto.initializer.extend(self.tensor(t) for n, t in tensors.items() if n in used or not fold)
        proto.initializer.extend(self.external(n, v) for n, v in folded.items() if n in used)
        inputs = [_text(g.Inputs(i)) for i in range(g.InputsLength())]
        proto.input.extend(self.value_info(values[n]) for n in inputs if n not in tensors)
        proto.output.extend(self.value_info(values[_text(g.Outputs(i))]) for i in range(g.OutputsLength()))
        return proto

    def fold(self, n: Any, tensors: dict[str, Any], folded: dict[str, np.ndarray]) -> np.ndarray | None:
        """The value of a ``Cast`` to float32, or a float32 ``Mul``/``Add``, of constants (None otherwise)."""
        op, domain = _text(n.OpType()), _text(n.Domain())
        if op not in ("Cast", "Mul", "Add") or domain not in ("", "ai.onnx") or n.OutputsLength() != 1:
            return None
        args = []
        for j in range(n.InputsLength()):
            name = _text(n.Inputs(j))
            if name in folded:
                args.append(folded[name])
            elif name in tensors:
                value = self.array(tensors[name])
                if value is None:
                    return None
                args.append(value)
            else:
                return None
        if op == "Cast":
            attributes = [n.Attributes(j) for j in range(n.AttributesLength())]
            to = next((a.I() for a in attributes if _text(a.Name()) == "to"), None)
            return args[0].astype(np.float32) if to == 1 and len(args) == 1 else None
        if len(args) != 2 or any(a.dtype != np.float32 for a in args):
            return None
        result: np.ndarray = args[0] * args[1] if op == "Mul" else args[0] + args[1]
        return result


def _outer_names(nodes: list[Any]) -> set[str]:
    """Names sub-graphs read from outside themselves (an ``If``'s branches read the folded weights)."""
    names: set[str] = set()
    for node in nodes:
        for attribute in node.attribute:
            for sub in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                names |= {name for n in sub.node for name in n.input}
                names |= _outer_names(list(sub.node))
    return names


def ort_to_onnx(path: Path) -> tuple[bytes, dict[str, np.ndarray]]:
    """The serialised ONNX model of an ``.ort`` file, and its folded weights (by initializer name).

    The folded weights are not in the model's bytes: give them to the session with
    ``SessionOptions.add_external_initializers`` (as OrtValues over these arrays, which must
    outlive the session), so the float32 weights exist once in memory.

    Raises
    ------
    SpeechModelError
        The file cannot be read or holds something this reader does not carry over.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpeechModelError(f"cannot read the speech model {path}: {exc.strerror}") from None
    reader = _Reader()
    root = reader.fbs.InferenceSession.InferenceSession
    if not root.InferenceSessionBufferHasIdentifier(data, 0):
        raise SpeechModelError(f"{path} is not an ONNX Runtime format model")
    model = root.GetRootAs(data, 0).Model()
    if model is None or model.Graph() is None:
        raise SpeechModelError(f"{path} holds no model")
    proto = reader.onnx.ModelProto()
    proto.ir_version = model.IrVersion()
    for i in range(model.OpsetImportLength()):
        opset = model.OpsetImport(i)
        entry = proto.opset_import.add()
        entry.domain, entry.version = _text(opset.Domain()), opset.Version()
    proto.graph.CopyFrom(reader.graph(model.Graph(), "main", fold=True))
    return proto.SerializeToString(), reader.weights
