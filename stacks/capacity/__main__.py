"""``python -m stacks.capacity``: see ``stacks.capacity.cli``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambdas"))  # reward_kit, as in app.py

from stacks.capacity.cli import main  # noqa: E402

raise SystemExit(main())
