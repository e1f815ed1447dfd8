"""Entry point of the `apim-gateway` package: the Python language host runs this directory.

The component lives in the repository's `components` package, one directory up.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.package.plugin import main

main()
