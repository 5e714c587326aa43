"""The Jinja2 environment of every page: templates/ holds one folder per domain plus the base layout."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from hdab.core.csrf import csrf_input

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
templates.env.globals["csrf_input"] = csrf_input
