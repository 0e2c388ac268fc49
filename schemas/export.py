"""Write the JSON Schema files of the wire models: ``python -m schemas.export``.

One file per top-level model in ``schemas/json/``, pretty-printed with sorted keys and a
trailing newline, so the output is deterministic and diffs read well. The files are
committed; a test renders them afresh and fails when they drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.activity import Activity
from schemas.base import WireModel
from schemas.canvass import (
    CanvassCall,
    CanvassCommitment,
    CanvassReport,
    CommitmentStatus,
)
from schemas.endorsement import EndorsementSignature, JointEndorsement
from schemas.event import Event
from schemas.forum import ForumAction, ForumPlan
from schemas.node_document import NodeDocument

JSON_DIR = Path(__file__).parent / "json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

TOP_LEVEL_MODELS: dict[str, type[WireModel]] = {
    "activity.json": Activity,
    "endorsement-signature.json": EndorsementSignature,
    "event.json": Event,
    "forum-plan.json": ForumPlan,
    "forum-action.json": ForumAction,
    "canvass-call.json": CanvassCall,
    "canvass-commitment.json": CanvassCommitment,
    "commitment-status.json": CommitmentStatus,
    "canvass-report.json": CanvassReport,
    "joint-endorsement.json": JointEndorsement,
    "node-document.json": NodeDocument,
}
"""File name -> the model whose schema it holds."""


def render(model: type[WireModel]) -> str:
    """The JSON Schema of one model as the text committed for it."""
    generated = _json_schema_only(model.model_json_schema(mode="validation"))
    schema = {"$schema": JSON_SCHEMA_DIALECT, **generated}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _json_schema_only(node: Any) -> Any:
    """``node`` without OpenAPI's ``discriminator``, which JSON Schema does not define.

    Pydantic writes it beside the ``oneOf`` of a tagged union; a stock validator ignores it,
    and each branch's ``type`` constant already picks the one branch that can match."""
    if isinstance(node, dict):
        return {
            key: _json_schema_only(value) for key, value in node.items() if key != "discriminator"
        }
    if isinstance(node, list):
        return [_json_schema_only(item) for item in node]
    return node


def render_all() -> dict[str, str]:
    """Every schema file's name and text, as ``python -m schemas.export`` writes them."""
    return {name: render(model) for name, model in TOP_LEVEL_MODELS.items()}


def write_all(directory: Path = JSON_DIR) -> list[Path]:
    """Write every schema file into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    """Entry point of ``python -m schemas.export``."""
    for path in write_all():
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
