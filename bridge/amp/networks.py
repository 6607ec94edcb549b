"""NAM networks, computed with dense matrix products on ``(channels, time)`` float32 arrays (NumPy).

A convolution is one ``(out, in * kernel) @ (in * kernel, time)`` product: the
kernel's taps side by side against the input's views at each tap's delay, stacked
(grouped convolutions become block-diagonal matrices). The layer order follows
neural-amp-modeler's own ``_Layer.forward`` (optional FiLM before/after the dilated
convolution, input mixin, activation, layer 1x1 and head 1x1; residual and head
sums). Weights are read in the order neural-amp-modeler writes them. The result
equals neural-amp-modeler's forward pass (tested against it) without PyTorch: only
training a capture needs that.

A network maps ``n + receptive_field - 1`` input samples to ``n`` output
samples: sample ``i`` of the output depends on inputs ``i .. i + rf - 1``.
LSTM captures run in :mod:`bridge.amp.lstm`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bridge.amp.activations import Activation, activation, paired
from bridge.amp.nam_file import NamError, NamModel

#: samples per tile when a layer is computed tile by tile (its temporaries stay in the CPU's cache)
TILE = 4096

_FILM_KEYS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film",
              "activation_pre_film", "activation_post_film", "layer1x1_post_film", "head1x1_post_film")


class _Weights:
    """Reads consecutive weights; counts them when no values are given."""

    def __init__(self, values: list[float] | None) -> None:
        self._values = np.asarray(values, dtype=np.float32) if values is not None else None
        self.used = 0

    def take(self, *shape: int) -> np.ndarray:
        n = 1
        for s in shape:
            n *= s
        start = self.used
        self.used += n
        if self._values is None:
            return np.zeros(shape, np.float32)
        if self.used > len(self._values):
            raise NamError(f"the capture has too few weights ({len(self._values)})")
        return self._values[start:self.used].reshape(shape)


def _dense_taps(w: np.ndarray, groups: int) -> list[np.ndarray]:
    """Conv weight ``(out, in/groups, k)`` -> per tap ``(out, in)`` block-diagonal matrices."""
    out_ch, in_per, k = w.shape
    out_per = out_ch // groups
    taps = []
    for j in range(k):
        dense = np.zeros((out_ch, in_per * groups), np.float32)
        for g in range(groups):
            dense[g * out_per:(g + 1) * out_per, g * in_per:(g + 1) * in_per] = w[g * out_per:(g + 1) * out_per, :, j]
        taps.append(dense)
    return taps


@dataclass
class _Conv:
    """A 1-D convolution (any kernel, dilation, groups) on ``(channels, time)`` arrays."""

    taps: list[np.ndarray]
    bias: np.ndarray | None
    dilation: int = 1
    #: the taps side by side, ``(out, in * kernel)``: one matrix product for the whole kernel
    stacked: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.stacked = np.ascontiguousarray(np.concatenate(self.taps, axis=1))

    @classmethod
    def read(cls, w: _Weights, cin: int, cout: int, kernel: int = 1, dilation: int = 1, groups: int = 1,
             bias: bool = True) -> _Conv:
        if cin % groups or cout % groups:
            raise NamError(f"{cin}->{cout} channels cannot be split into {groups} groups")
        weight = w.take(cout, cin // groups, kernel)
        b = np.ascontiguousarray(w.take(cout)[:, None]) if bias else None
        return cls(_dense_taps(weight, groups), b, dilation)

    @property
    def span(self) -> int:
        return (len(self.taps) - 1) * self.dilation

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[1] - self.span
        d, k, cin = self.dilation, len(self.taps), x.shape[0]
        if cin == 1 and k == 1:  # one input channel: a broadcast, not a product
            out = self.taps[0] * x[:, :n]
        elif k == 1:
            out = self.taps[0] @ x[:, :n]
        else:  # every tap's view of the input, one above the other, against the taps side by side
            frames = np.empty((k * cin, n), np.float32)
            for j in range(k):
                frames[j * cin:(j + 1) * cin] = x[:, j * d:j * d + n]
            out = self.stacked @ frames
        if self.bias is not None:
            out += self.bias
        return out


@dataclass
class _FiLM:
    conv: _Conv
    shift: bool

    def __call__(self, x: np.ndarray, c: np.ndarray) -> np.ndarray:
        n = min(x.shape[1], c.shape[1])
        x, f = x[:, -n:], self.conv(c[:, -n:])
        if self.shift:
            half = f.shape[0] // 2
            return f[:half] * x + f[half:]
        return f * x


@dataclass
class _Layer:
    conv: _Conv
    mixer: _Conv
    act: Activation
    layer1x1: _Conv | None
    head1x1: _Conv | None
    films: dict[str, _FiLM]

    def __post_init__(self) -> None:
        # the common layer (A1 and most A2): one conditioning channel, no FiLM, layer 1x1, no head 1x1
        self.tiled = (not self.films and self.mixer.bias is None and self.mixer.taps[0].shape[1] == 1
                      and self.layer1x1 is not None and len(self.layer1x1.taps) == 1 and self.head1x1 is None
                      and self.layer1x1.stacked.shape[1] == self.conv.stacked.shape[0])  # no gating
        if self.tiled:
            assert self.layer1x1 is not None
            conv, l1 = self.conv, self.layer1x1
            zeros = np.zeros((conv.stacked.shape[0], 1), np.float32)
            # [taps | mixer | bias] against [the input at each tap; the condition; ones]: one product
            self._conv_mix = np.ascontiguousarray(np.hstack([conv.stacked, self.mixer.taps[0],
                                                             conv.bias if conv.bias is not None else zeros]))
            # [layer 1x1 | bias] against [activation; ones]
            self._l1 = np.ascontiguousarray(np.hstack([l1.stacked, l1.bias if l1.bias is not None else
                                                       np.zeros((l1.stacked.shape[0], 1), np.float32)]))

    def fits_tiles(self, x: np.ndarray, c: np.ndarray) -> bool:
        """Whether :meth:`by_tiles` can compute this layer for these inputs."""
        return self.tiled and c.shape[0] == 1 and c.shape[1] >= x.shape[1] - self.conv.span

    def by_tiles(self, x: np.ndarray, c: np.ndarray, out_len: int, head: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """The common layer tile by tile, its head term added into ``head`` (the layer array's running sum).

        The same operations as :meth:`__call__`, with the biases and the condition mixer
        folded into the matrix products and every temporary small enough for the CPU's cache.
        Returns the layer's output and the head sum (made when ``head`` is None).
        """
        conv = self.conv
        n = x.shape[1] - conv.span
        cin, k, d = x.shape[0], len(conv.taps), conv.dilation
        mid, rows = self._conv_mix.shape[0], k * cin
        out = np.empty((self._l1.shape[0], n), np.float32)
        if head is None:
            head = np.zeros((mid, out_len), np.float32)
        tile = min(TILE, n)
        stack = np.empty((rows + 2, tile), np.float32)
        stack[rows + 1] = 1
        z = np.empty((mid + 1, tile), np.float32)
        z[mid] = 1
        cond, residual, start = c[0, -n:], x[:, -n:], n - out_len
        for t0 in range(0, n, tile):
            t1 = min(n, t0 + tile)
            m = t1 - t0
            s, zt = stack[:, :m], z[:, :m]
            for j in range(k):
                s[j * cin:(j + 1) * cin] = x[:, t0 + j * d:t1 + j * d]
            s[rows] = cond[t0:t1]
            act = zt[:mid]
            np.matmul(self._conv_mix, s, out=act)
            done = self.act(act)
            if done is not act:
                act[...] = done
            o = out[:, t0:t1]
            np.matmul(self._l1, zt, out=o)
            o += residual[:, t0:t1]
            a = max(t0, start)
            if a < t1:
                head[:, a - start:t1 - start] += act[:, a - t0:]
        return out, head

    def __call__(self, x: np.ndarray, c: np.ndarray, out_len: int) -> tuple[np.ndarray, np.ndarray]:
        f = self.films
        conv_in = f["conv_pre_film"](x, c) if "conv_pre_film" in f else x
        z = self.conv(conv_in)
        if "conv_post_film" in f:
            z = f["conv_post_film"](z, c)
        if not f and c.shape[0] == 1 and self.mixer.bias is None and c.shape[1] >= z.shape[1]:
            # the common case (A1 and most A2): one conditioning channel, no FiLM
            z += self.mixer.taps[0] * c[:, -z.shape[1]:]
            return self._finish(x, z, c, out_len)
        mix_in = f["input_mixin_pre_film"](c, c) if "input_mixin_pre_film" in f else c
        mix = self.mixer(mix_in[:, -z.shape[1]:])
        if "input_mixin_post_film" in f:
            mix = f["input_mixin_post_film"](mix, c)
        n = min(z.shape[1], mix.shape[1])
        if z.shape[1] != n or mix.shape[1] != n:
            z = z[:, -n:] + mix[:, -n:]
        else:
            z += mix
        return self._finish(x, z, c, out_len)

    def _finish(self, x: np.ndarray, z: np.ndarray, c: np.ndarray, out_len: int
                ) -> tuple[np.ndarray, np.ndarray]:
        f = self.films
        if "activation_pre_film" in f:
            z = f["activation_pre_film"](z, c)
        post = self.act(z)
        if "activation_post_film" in f:
            post = f["activation_post_film"](post, c)
        head = post
        if self.head1x1 is not None:
            head = self.head1x1(post)[:, -out_len:]
            if "head1x1_post_film" in f:
                head = f["head1x1_post_film"](head, c)
        else:
            head = head[:, -out_len:]
        if self.layer1x1 is None:
            return x[:, -post.shape[1]:] + post, head
        out = self.layer1x1(post)
        if "layer1x1_post_film" in f:
            out = f["layer1x1_post_film"](out, c)
        out += x[:, -out.shape[1]:]
        return out, head


@dataclass
class _LayerArray:
    rechannel: _Conv
    layers: list[_Layer]
    head: _Conv
    rf_no_head: int

    @property
    def receptive_field(self) -> int:
        return self.rf_no_head + self.head.span

    def __call__(self, y: np.ndarray, c: np.ndarray, head_in: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
        shortest = min(y.shape[1], c.shape[1])
        out_len = shortest - (self.receptive_field - 1)
        out_len_nh = shortest - (self.rf_no_head - 1)
        x = self.rechannel(y)
        if head_in is not None:
            head_in = head_in[:, -out_len_nh:]
        for layer in self.layers:
            if layer.fits_tiles(x, c):
                x, head_in = layer.by_tiles(x, c, out_len_nh, head_in)
                continue
            x, term = layer(x, c, out_len_nh)
            # head_in is ours to modify: a fresh sum, or a view of an activation no longer needed
            if head_in is None:
                head_in = term
            else:
                head_in = head_in[:, -out_len_nh:]
                head_in += term
        assert head_in is not None
        return self.head(head_in), x[:, -out_len:]


def _act_for(layer: dict[str, Any], i: int) -> Activation:
    primary = activation(layer["activation"][i])
    mode = layer.get("gating_mode", ["none"] * len(layer["dilations"]))[i] or "none"
    if mode == "none":
        return primary
    return paired(primary, activation(layer["secondary_activation"][i]), mode)


def _read_layer_array(w: _Weights, la: dict[str, Any]) -> _LayerArray:
    channels, cond = int(la["channels"]), int(la["condition_size"])
    bottleneck = int(la.get("bottleneck", channels))
    g_in, g_mix = int(la.get("groups_input", 1)), int(la.get("groups_input_mixin", 1))
    l1 = la.get("layer1x1") or la.get("layer_1x1_config") or {}
    h1 = la.get("head1x1") or la.get("head_1x1_config") or {}
    l1_active, l1_groups = bool(l1.get("active", True)), int(l1.get("groups", 1))
    h1_active, h1_out, h1_groups = bool(h1.get("active", False)), int(h1.get("out_channels", 1)), int(
        h1.get("groups", 1))
    if not l1_active and bottleneck != channels:
        raise NamError("a layer without layer1x1 needs bottleneck == channels")
    rechannel = _Conv.read(w, int(la["input_size"]), channels, bias=False)
    layers: list[_Layer] = []
    rf = 1
    for i, (k, d) in enumerate(zip(la["kernel_size"], la["dilations"], strict=True)):
        act = _act_for(la, i)
        mode = la.get("gating_mode", ["none"] * len(la["dilations"]))[i] or "none"
        mid = 2 * bottleneck if mode != "none" else bottleneck
        conv = _Conv.read(w, channels, mid, int(k), int(d), g_in, bias=True)
        mixer = _Conv.read(w, cond, mid, groups=g_mix, bias=False)
        layer1x1 = _Conv.read(w, bottleneck, channels, groups=l1_groups) if l1_active else None
        head1x1 = _Conv.read(w, bottleneck, h1_out, groups=h1_groups) if h1_active else None
        dims = {"conv_pre_film": channels, "conv_post_film": mid, "input_mixin_pre_film": cond,
                "input_mixin_post_film": mid, "activation_pre_film": mid, "activation_post_film": bottleneck,
                "layer1x1_post_film": channels, "head1x1_post_film": h1_out}
        films: dict[str, _FiLM] = {}
        for key in _FILM_KEYS:
            spec = la.get(key) or (la.get("film_params") or {}).get(key) or {}
            if not spec.get("active", False):
                continue
            if (key == "layer1x1_post_film" and not l1_active) or (key == "head1x1_post_film" and not h1_active):
                continue
            shift = bool(spec.get("shift", True))
            films[key] = _FiLM(_Conv.read(w, cond, (2 if shift else 1) * dims[key],
                                          groups=int(spec.get("groups", 1))), shift)
        layers.append(_Layer(conv, mixer, act, layer1x1, head1x1, films))
        rf += (int(k) - 1) * int(d)
    head_cfg = la["head"]
    head = _Conv.read(w, h1_out if h1_active else bottleneck, int(head_cfg["out_channels"]),
                      int(head_cfg.get("kernel_size", 1)), bias=bool(head_cfg.get("bias", False)))
    return _LayerArray(rechannel, layers, head, rf)


@dataclass
class WaveNet:
    """A NAM WaveNet (A1 or A2), optionally conditioned by another network."""

    arrays: list[_LayerArray]
    head_scale: float
    post_head: list[tuple[Activation, _Conv]] = field(default_factory=list)
    condition: WaveNet | None = None

    @property
    def receptive_field(self) -> int:
        rf = 1 + sum(a.receptive_field - 1 for a in self.arrays)
        rf += sum(conv.span for _, conv in self.post_head)
        if self.condition is not None:
            rf += self.condition.receptive_field - 1
        return rf

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(1, n + rf - 1)`` input to ``(out_channels, n)`` output."""
        c = x if self.condition is None else self.condition.forward(x)
        y, head = x, None
        for array in self.arrays:
            head, y = array(y, c, head)
        assert head is not None
        head = head * self.head_scale
        for act, conv in self.post_head:
            head = conv(act(head))
        return head

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x[None, :])[0]


def _read_wavenet(w: _Weights, config: dict[str, Any]) -> WaveNet:
    arrays = [_read_layer_array(w, la) for la in config["layers"]]
    post_head: list[tuple[Activation, _Conv]] = []
    head_cfg = config.get("head")
    if head_cfg:
        cin = int(arrays[-1].head.taps[0].shape[0])
        kernels = head_cfg.get("kernel_sizes") or [1] * int(head_cfg.get("num_layers", 1))
        act = activation(head_cfg.get("activation", "ReLU"))
        for i, k in enumerate(kernels):
            cout = int(head_cfg["out_channels"]) if i == len(kernels) - 1 else int(head_cfg["channels"])
            post_head.append((act, _Conv.read(w, cin, cout, int(k))))
            cin = cout
    scale = w.take(1)
    return WaveNet(arrays, float(scale[0]) if scale.size else float(config.get("head_scale", 1.0)), post_head)


@dataclass
class Linear:
    """A plain FIR filter (NAM's ``Linear``)."""

    conv: _Conv

    @property
    def receptive_field(self) -> int:
        return self.conv.span + 1

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.conv(x[None, :])[0]


class Lstm:
    """NAM's LSTM: stacked LSTM cells with learned initial states and a linear head.

    It has state, so audio must go through :meth:`stream` in order (the steps run in
    :mod:`bridge.amp.lstm`).
    """

    receptive_field = 1

    def __init__(self, w: _Weights, config: dict[str, Any]) -> None:
        hidden, layers, inp = int(config["hidden_size"]), int(config.get("num_layers", 1)), int(
            config.get("input_size", 1))
        self.w_ih: list[np.ndarray] = []
        self.w_hh: list[np.ndarray] = []
        self.bias: list[np.ndarray] = []
        self.h0 = np.zeros((layers, hidden), np.float32)
        self.c0 = np.zeros((layers, hidden), np.float32)
        for layer in range(layers):
            in_dim = inp if layer == 0 else hidden
            combined = w.take(4 * hidden, in_dim + hidden)  # [W_ih | W_hh], gates i, f, g, o
            self.w_ih.append(combined[:, :in_dim])
            self.w_hh.append(combined[:, in_dim:])
            self.bias.append(w.take(4 * hidden))
            self.h0[layer] = w.take(hidden)
            self.c0[layer] = w.take(hidden)
        self.head_w = w.take(1, hidden)
        self.head_b = w.take(1)

    def stream(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """Process consecutive blocks of samples, carrying the state across them."""
        from bridge.amp.lstm import run_layer

        h = self.h0.astype(np.float64)
        c = self.c0.astype(np.float64)
        w_ih = [m.astype(np.float64) for m in self.w_ih]
        w_hh = [np.ascontiguousarray(m, dtype=np.float64) for m in self.w_hh]
        bias = [b.astype(np.float64) for b in self.bias]
        head_w, head_b = self.head_w[0].astype(np.float64), float(self.head_b[0])
        for block in blocks:
            if len(block) == 0:
                continue
            seq = np.asarray(block, np.float64)[:, None]
            for layer in range(len(w_hh)):
                gates = seq @ w_ih[layer].T + bias[layer]  # every step's input contribution at once
                seq = run_layer(gates, w_hh[layer], h[layer], c[layer])
            yield (seq @ head_w + head_b).astype(np.float32)


Network = WaveNet | Linear | Lstm


def _read(model: NamModel, w: _Weights) -> Network:
    if model.architecture == "WaveNet":
        net = _read_wavenet(w, model.config)
        dsp = model.config.get("condition_dsp")
        if isinstance(dsp, NamModel):
            net.condition = build_network(dsp)  # type: ignore[assignment]
        return net
    if model.architecture == "Linear":
        rf = int(model.config["receptive_field"])
        return Linear(_Conv.read(w, 1, 1, rf, bias=bool(model.config.get("bias", False))))
    if model.architecture == "LSTM":
        return Lstm(w, model.config)
    raise NamError(f"cannot build a {model.architecture} network directly")


def expected_weight_count(model: NamModel) -> int:
    """How many weights the configuration needs."""
    counter = _Weights(None)
    try:
        _read(model, counter)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise NamError(f"{model.name}: the config is incomplete or malformed ({exc!r})") from None
    return counter.used


def build_network(model: NamModel, size: float = 1.0) -> Network:
    """The runnable network of a capture (for a SlimmableContainer, the submodel for ``size``).

    ``size`` follows NAM's C++ core (``ContainerModel::SetSlimmableSize``): the
    first submodel whose ``max_value`` is above ``size``, else the last (the
    full-size model, which is also the default).
    """
    if model.architecture == "SlimmableContainer":
        for max_value, sub in model.submodels:
            if size < max_value:
                return build_network(sub, size)
        return build_network(model.submodels[-1][1], size)
    return _read(model, _Weights(model.weights))

