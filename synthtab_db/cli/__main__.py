"""python -m synthtab_db.cli"""

import sys

from synthtab_db.cli import main

sys.exit(main())
