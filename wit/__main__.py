import sys

from wit.app.cli import main

sys.exit(main())
