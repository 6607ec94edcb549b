"""Neural Amp Modeler captures: loading every .nam, rendering, creating captures."""

from bridge.amp.nam_file import ARCHITECTURES, NamError, NamModel, load_nam, parse_nam
from bridge.amp.networks import build_network

__all__ = ["ARCHITECTURES", "NamError", "NamModel", "build_network", "load_nam", "parse_nam"]
