"""`resad-station export --onnx OUT.onnx`: the engine's backbone and heads as ONNX graphs.

Writes OUT.onnx (the backbone's features), OUT.heads.onnx (constraintors and flows; none for a
model without heads) and OUT.card.json (engine version, backbone, input size, weights sha256,
opset and each file's sha256, which loading checks). A profile runs them with
`engine.runtime: onnxruntime` and `engine.onnx: OUT.onnx`.
"""

from __future__ import annotations

import argparse
import sys

NAME = "export"
HELP = "export the engine's backbone and heads as ONNX graphs (for engine.runtime onnxruntime)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx", required=True, metavar="OUT.onnx", help="features graph to write (the heads graph "
                        "and the card are written beside it)")
    parser.add_argument("--weights", help="head weights (.safetensors with its card; default: the bundled model)")
    parser.add_argument("--input-size", type=int, default=256, help="input short side the graphs are checked for")
    parser.add_argument("--no-heads", action="store_true", help="the features graph alone (method knn)")


def run(args: argparse.Namespace) -> int:
    from engine.errors import EngineError
    from engine.onnx_export import export_graphs, heads_graph_path, onnx_card_path
    from engine.weights import BUNDLED_WEIGHTS, load_heads

    try:
        heads, card = (None, None) if args.no_heads else load_heads(args.weights or BUNDLED_WEIGHTS)
        written = export_graphs(args.onnx, heads, card, args.input_size)
    except (EngineError, OSError) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    files = [args.onnx] + ([str(heads_graph_path(args.onnx))] if "heads" in written["files"] else [])
    print(f"wrote {', '.join(files)} and {onnx_card_path(args.onnx)} (opset {written['opset']}, input size "
          f"{written['input_size']}, weights {written['weights_sha256'][:16]})")
    return 0
